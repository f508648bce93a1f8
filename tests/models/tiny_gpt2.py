"""A tiny randomly initialised GPT-2 and a byte-level BPE tokenizer trained on a few sentences,
saved to a folder: a real transformers model for tests and benchmarks, no download."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "A 54-year-old man has crushing chest pain radiating to the left arm.",
    "Question: Which enzyme rises first? Options: A. Myoglobin B. Troponin I C. CK-MB D. LDH",
    "Answer with the letter of the correct option only. Answer: B",
    "You are a medical expert answering multiple-choice questions.",
    "The patient presents with fever, cough and shortness of breath for three days.",
    "Iron deficiency anaemia, folate deficiency, haemolysis, thiamine, levodopa, heparin, aspirin.",
    "Answer: A", "Answer: B", "Answer: C", "Answer: D", "Answer: E",
]


def build_tiny_gpt2(folder: Path, *, seed: int = 0, layers: int = 2, width: int = 64, vocab: int = 600,
                    corpus: list[str] | None = None, positions: int = 1024) -> Path:
    """``corpus`` (extra training text) gives a realistic compression for long prompts."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(CORPUS * 4 + list(corpus or []), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")
    fast.save_pretrained(folder)
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(fast), n_positions=positions, n_embd=width, n_layer=layers, n_head=2,
                        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id)
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder)
    return folder
