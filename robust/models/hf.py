"""``hf:PATH_OR_NAME`` — a local Hugging Face transformers model.

Causal LMs answer by **log-likelihood**, the lm-evaluation-harness way: the prompt (the versioned
template, ending in ``Answer:``) is the context, each option's letter (``--continuation letter``,
default) or text (``text``) the continuation; token pairs are split exactly as lm-eval's
``_encode_pair`` does, so the log-likelihoods are the same. The context is scored once per
question and reused for every option: one forward pass per question for letters (batched over
questions, sorted by length to cut padding), and a cached context plus one batched pass over
the options for texts. Both summed and length-normalised (per character, lm-eval's acc_norm)
scores go in ``Prediction.extra``; the softmax of the summed scores is ``probs``.

Instruction/chat models can answer by generation instead (``--generate``: the tokenizer's chat
template, greedy or ``--samples``); vision-language models (a config with ``vision_config``)
always generate, through ``AutoProcessor``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ModelError, UsageError
from ..items import Item, Prediction
from .base import BaseModel, open_question_error, sampling_temperature, softmax, split_open, vote_prediction
from .parsing import PARSER_VERSION, parse_answer
from .prompting import PromptTemplate, load_template

ADAPTER_VERSION = 1
_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16", "auto": "auto"}


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's causal ``_encode_pair``: trailing context spaces move to the continuation, the
    whole string is encoded and split at the context's token length."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = tokenizer.encode(context + continuation)
    context_ids = tokenizer.encode(context)
    return context_ids, whole[len(context_ids):]


def _weights_digest(path: Path) -> str:
    """Size and mtime of the weight files: retraining into the same folder changes the fingerprint."""
    digest = hashlib.sha256()
    for file in sorted(path.glob("*")):
        if file.suffix in (".safetensors", ".bin", ".json", ".model", ".pt"):
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


class HFModel(BaseModel):
    def __init__(
        self,
        name_or_path: str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 16,
        generate: bool = False,
        continuation: str = "letter",
        template: str | PromptTemplate | None = None,
        max_tokens: int = 32,
        samples: int = 1,
        temperature: float | None = None,
    ) -> None:
        if not name_or_path:
            raise UsageError("hf needs a model folder or hub name, e.g. hf:./my-model or hf:Qwen/Qwen2.5-0.5B-Instruct")
        if continuation not in ("letter", "text"):
            raise UsageError(f"--continuation is letter or text (got {continuation!r})")
        self.name = name_or_path
        self.spec = f"hf:{name_or_path}"
        self.batch_size = batch_size
        self.continuation = continuation
        self.template = template if isinstance(template, PromptTemplate) else load_template(template)
        self.max_tokens = max_tokens
        self.samples = samples
        self.temperature = sampling_temperature(temperature, samples)
        self.dtype_name = _DTYPES.get(dtype or "", "") or None
        if dtype and self.dtype_name is None:
            raise UsageError(f"--dtype is one of {', '.join(_DTYPES)} (got {dtype!r})")
        local = Path(name_or_path).expanduser()
        self.local = local.exists()
        if self.local and not (local / "config.json").is_file():
            raise UsageError(f"hf:{name_or_path} is not a transformers model folder (no config.json in {local})")
        self.path = str(local.resolve()) if self.local else name_or_path
        config = self._load_config()
        self.is_vlm = hasattr(config, "vision_config")
        self.generate = bool(generate) or self.is_vlm
        if samples > 1 and not self.generate:
            raise UsageError("hf: --samples needs --generate (log-likelihood scoring already gives exact option "
                             "probabilities)")
        self.max_length = int(getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 0)
                              or 2048)
        self.revision = getattr(config, "_commit_hash", None)
        self._device_name = device
        self._model: Any = None
        self._tokenizer: Any = None
        self._processor: Any = None

    # ---- identity -------------------------------------------------------------------------------
    def fingerprint(self) -> Mapping[str, Any]:
        identity: dict[str, Any] = {"adapter": "hf", "version": ADAPTER_VERSION, "model": self.path,
                                    "dtype": self.dtype_name or "default"}
        if self.local:
            identity["weights"] = _weights_digest(Path(self.path))
        elif self.revision:
            identity["revision"] = self.revision
        if self.generate:
            identity |= {"mode": "generate", "max_tokens": self.max_tokens, "samples": self.samples,
                         "temperature": self.temperature, "parser": PARSER_VERSION}
        else:
            identity |= {"mode": "loglikelihood", "continuation": self.continuation}
        return identity | self.template.fingerprint()

    # ---- loading ----------------------------------------------------------------------------------
    def _load_config(self) -> Any:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from transformers import AutoConfig

            return AutoConfig.from_pretrained(self.path)
        except Exception as exc:
            raise self._load_error(exc) from None

    def _load_error(self, exc: Exception) -> UsageError:
        message = str(exc).strip()
        return UsageError(f"cannot load hf:{self.name}: {message.splitlines()[0] if message else type(exc).__name__}")

    @property
    def device(self) -> str:
        if self._device_name:
            return self._device_name
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def load(self) -> None:
        """Load tokenizer and weights (done before any work by ``create``)."""
        if self._model is not None:
            return
        import torch
        import transformers
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        dtype: Any
        if self.dtype_name in (None, "auto"):
            dtype = "auto" if self.device != "cpu" or self.dtype_name == "auto" else torch.float32
        else:
            dtype = getattr(torch, self.dtype_name)
        try:
            if self.is_vlm:
                self._processor = transformers.AutoProcessor.from_pretrained(self.path)
                self._tokenizer = getattr(self._processor, "tokenizer", self._processor)
                model = transformers.AutoModelForImageTextToText.from_pretrained(self.path, dtype=dtype)
            else:
                self._tokenizer = transformers.AutoTokenizer.from_pretrained(self.path)
                model = transformers.AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype)
        except Exception as exc:
            raise self._load_error(exc) from None
        import inspect

        parameters = inspect.signature(model.forward).parameters
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._keeps_logits = "logits_to_keep" in parameters
        device: Any = self.device
        try:
            self._model = model.to(device).eval()
        except Exception as exc:
            raise ModelError(f"cannot move hf:{self.name} to {self.device}: {exc}") from None

    def close(self) -> None:
        self._model = None

    # ---- predicting -------------------------------------------------------------------------------
    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        self.load()
        if self.generate:
            yield from self._predict_generate(items)
        else:
            closed, open_ones = split_open(items)
            for index in open_ones:
                yield index, open_question_error(self.spec)
            for index, prediction in self._predict_loglikelihood([items[i] for i in closed]):
                yield closed[index], prediction

    def continuations(self, item: Item) -> list[str]:
        """What is scored after the prompt, one per option in option order: " A" or " option text"."""
        return [f" {key if self.continuation == 'letter' else text}" for key, text in item.options.items()]

    def requests(self, item: Item) -> list[tuple[str, str]]:
        """The (context, continuation) pairs scored for an item: one per option, in option order."""
        context = self.template.text(item)
        return [(context, continuation) for continuation in self.continuations(item)]

    @property
    def _pad_id(self) -> int:
        """Padding for scoring passes: never attended to (right padding, causal), so any id will do."""
        pad = self._tokenizer.pad_token_id
        return int(pad) if pad is not None else 0

    def _encode(self, items: Sequence[Item]) -> list[tuple[list[int], list[list[int]]]]:
        """Per item: context tokens and each option's continuation tokens, split as lm-eval's
        ``_encode_pair`` does, but with the context encoded once and all strings in one batch call."""
        strings: list[str] = []
        for item in items:
            pairs = self.requests(item)
            context = pairs[0][0]
            stripped = context.rstrip()
            strings.append(stripped)
            strings.extend(stripped + context[len(stripped):] + cont for _, cont in pairs)
        ids = self._tokenizer(strings)["input_ids"]
        out: list[tuple[list[int], list[list[int]]]] = []
        row = 0
        for item in items:
            context_ids = list(ids[row])
            continuations = [list(whole[len(context_ids):]) for whole in ids[row + 1 : row + 1 + len(item.options)]]
            row += 1 + len(item.options)
            if not context_ids or any(not cont for cont in continuations):
                raise ModelError(f"item {item.id}: the prompt or an option is empty after tokenisation")
            out.append((context_ids, continuations))
        return out

    def _predict_loglikelihood(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        window = max(256, 8 * self.batch_size)  # answers stream out window by window
        for offset in range(0, len(items), window):
            chunk = items[offset : offset + window]
            encoded = self._encode(chunk)
            single = [i for i, (_, conts) in enumerate(encoded) if all(len(c) == 1 for c in conts)]
            single_set = set(single)
            for index, scores, latency in self._score_single_token(single, encoded):
                yield offset + index, self._prediction(chunk[index], scores, latency)
            for index in (i for i in range(len(chunk)) if i not in single_set):
                began = time.perf_counter()
                scores = self._score_with_cached_context(*encoded[index])
                yield offset + index, self._prediction(chunk[index], scores, time.perf_counter() - began)

    def _score_single_token(self, indices: list[int], encoded: list[tuple[list[int], list[list[int]]]]
                            ) -> Iterator[tuple[int, list[float], float]]:
        """One forward pass per question (its context), batched over questions sorted by length;
        the LM head runs only at the positions read (``logits_to_keep``), not the whole sequence."""
        import torch

        order = sorted(indices, key=lambda i: -len(encoded[i][0]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            began = time.perf_counter()
            inputs = [encoded[i][0][-self.max_length:] for i in chunk]
            batch = torch.full((len(chunk), len(inputs[0])), self._pad_id, dtype=torch.long)
            for row, ids in enumerate(inputs):
                batch[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            last = torch.tensor([len(ids) - 1 for ids in inputs])
            rows = torch.arange(len(chunk))
            with torch.no_grad():
                if self._keeps_logits:
                    keep = torch.unique(last)
                    logits = self._model(batch.to(self.device), logits_to_keep=keep.to(self.device)).logits
                    picked = logits[rows, torch.searchsorted(keep, last).to(logits.device)]
                else:
                    logits = self._model(batch.to(self.device)).logits
                    picked = logits[rows, last.to(logits.device)]
                logprobs = torch.log_softmax(picked.float(), dim=-1).cpu()
            latency = (time.perf_counter() - began) / len(chunk)
            for row, index in enumerate(chunk):
                tokens = [cont[0] for cont in encoded[index][1]]
                yield index, logprobs[row, tokens].tolist(), latency

    def _score_with_cached_context(self, context: list[int], continuations: list[list[int]]) -> list[float]:
        """Multi-token options: the context once (KV cache), then all options in one padded batch."""
        import torch

        longest = max(len(c) for c in continuations)
        if len(context) + longest > self.max_length + 1:
            return self._score_truncated(context, continuations)
        with torch.no_grad():
            out = self._model(torch.tensor([context], device=self.device), use_cache=True)
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            cache = getattr(out, "cache", None) or out.past_key_values
            cache.batch_repeat_interleave(len(continuations))
            feed = torch.full((len(continuations), max(longest - 1, 1)), self._pad_id, dtype=torch.long)
            for row, cont in enumerate(continuations):
                if len(cont) > 1:
                    feed[row, : len(cont) - 1] = torch.tensor(cont[:-1], dtype=torch.long)
            if longest > 1:
                rest = torch.log_softmax(self._model(feed.to(self.device), **{self._cache_argument: cache}).logits.float(),
                                         dim=-1)
        scores = []
        for row, cont in enumerate(continuations):
            total = float(first[cont[0]])
            for position, token in enumerate(cont[1:]):
                total += float(rest[row, position, token])
            scores.append(total)
        return scores

    def _score_truncated(self, context: list[int], continuations: list[list[int]]) -> list[float]:
        """lm-eval's left-truncated full passes (one padded batch of options), for requests longer
        than the model's window: the context differs per option once truncated, so it cannot be shared."""
        import torch

        rows = [(context + cont)[-(self.max_length + 1):][:-1] for cont in continuations]
        width = max(len(r) for r in rows)
        batch = torch.full((len(rows), width), self._pad_id, dtype=torch.long)
        for index, ids in enumerate(rows):
            batch[index, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        with torch.no_grad():
            logprobs = torch.log_softmax(self._model(batch.to(self.device)).logits.float(), dim=-1)
        scores = []
        for index, (ids, cont) in enumerate(zip(rows, continuations)):
            start = len(ids) - len(cont)
            scores.append(float(sum(float(logprobs[index, start + i, t]) for i, t in enumerate(cont))))
        return scores

    def _prediction(self, item: Item, scores: list[float], latency: float) -> Prediction:
        keys = list(item.options)
        summed = dict(zip(keys, scores))
        normalised = {k: s / max(len(t), 1) for k, s, t in zip(keys, scores, self.continuations(item))}
        probs = softmax(summed, 1.0)
        choice = max(keys, key=lambda k: summed[k])
        return Prediction(choice=choice, probs=probs, confidence=probs[choice], latency=latency,
                          text=" ".join(f"{k}={summed[k]:.4f}" for k in keys),
                          extra={"loglikelihood": summed, "loglikelihood_norm": normalised,
                                 "choice_norm": max(keys, key=lambda k: normalised[k])})

    # ---- generation ---------------------------------------------------------------------------------
    def _chat_inputs(self, item: Item) -> Any:
        """Processor inputs (text and images) of one question, for vision-language models.

        Each image is loaded now (lazily, one item at a time) from the exact pixels the store key
        hashed, as an 8-bit RGB PIL image: uint16 is scaled by >> 8 (see ``robust.imaging.encode.to_pil``),
        gray is replicated to three channels, as VLM processors expect."""
        from ..imaging import load_pixels
        from ..imaging.encode import to_pil

        messages = self.template.messages(item)
        images = [to_pil(load_pixels(image)).convert("RGB") for image in item.images]
        content: list[dict[str, Any]] = [{"type": "image", "image": image} for image in images]
        content.append({"type": "text", "text": messages[-1]["content"]})
        messages[-1] = {"role": "user", "content": content}
        for message in messages[:-1]:
            message["content"] = [{"type": "text", "text": message["content"]}]
        return self._processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                   return_dict=True, return_tensors="pt")

    def prompt_text(self, item: Item) -> str:
        """What a text-only model generates from: the chat template when it has one, else the text prompt."""
        if getattr(self._tokenizer, "chat_template", None):
            text: str = self._tokenizer.apply_chat_template(self.template.messages(item), add_generation_prompt=True,
                                                            tokenize=False)
            return text
        return self.template.text(item)

    def _generation_settings(self, pad: int | None) -> dict[str, Any]:
        settings: dict[str, Any] = {"max_new_tokens": self.max_tokens, "pad_token_id": pad}
        if self.temperature > 0:
            return settings | {"do_sample": True, "temperature": self.temperature, "num_return_sequences": self.samples}
        return settings | {"do_sample": False}

    def _predict_generate(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        import torch

        tokenizer = self._tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        settings = self._generation_settings(pad)
        if self._processor is not None:  # images: one question at a time through the processor
            for index, item in enumerate(items):
                began = time.perf_counter()
                inputs = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in self._chat_inputs(item).items()}
                with torch.no_grad():
                    output = self._model.generate(**inputs, **settings)
                width = inputs["input_ids"].shape[1]
                texts = [tokenizer.decode(row[width:], skip_special_tokens=True).strip() for row in output]
                yield index, self._from_texts(item, texts, time.perf_counter() - began)
            return
        chat = bool(getattr(tokenizer, "chat_template", None))
        prompts = [self.prompt_text(item) for item in items]
        lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=not chat)["input_ids"]]
        order = sorted(range(len(items)), key=lambda i: -lengths[i])  # similar lengths share a batch: less padding
        side = tokenizer.padding_side
        tokenizer.padding_side = "left"  # generation continues from the right end of every row
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        try:
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                began = time.perf_counter()
                batch = tokenizer([prompts[i] for i in chunk], return_tensors="pt", padding=True,
                                  add_special_tokens=not chat).to(self.device)
                with torch.no_grad():
                    output = self._model.generate(**batch, **settings)
                width = batch["input_ids"].shape[1]
                per = settings.get("num_return_sequences", 1)
                latency = (time.perf_counter() - began) / len(chunk)
                for row, index in enumerate(chunk):
                    texts = [tokenizer.decode(output[row * per + k, width:], skip_special_tokens=True).strip()
                             for k in range(per)]
                    yield index, self._from_texts(items[index], texts, latency)
        finally:
            tokenizer.padding_side = side

    def _from_texts(self, item: Item, texts: list[str], latency: float) -> Prediction:
        if self.samples > 1:
            return vote_prediction(texts, item.options, latency=latency)
        return Prediction(choice=parse_answer(texts[0], item.options), text=texts[0], latency=latency)


def create(arg: str | None, **options: Any) -> HFModel:
    """``hf:PATH``: weights load now, so a broken checkpoint fails before any work, unless
    ``load_weights=False`` (the driver of a Ray run keys requests and keeps the store; its actors
    load the weights, and ``predict`` would load them on first use)."""
    settings = {k: options[k] for k in ("device", "dtype", "batch_size", "generate", "continuation", "template",
                                        "max_tokens", "samples", "temperature") if options.get(k) is not None}
    model = HFModel(arg or "", **settings)
    if options.get("load_weights", True):
        model.load()
    return model

