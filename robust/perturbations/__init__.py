"""Pure transforms (text in, text out; image in, image out). Attacks decide where to apply them."""
