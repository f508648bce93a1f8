"""The transformers adapter on a tiny randomly initialised GPT-2 (built in the test, no download)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import QUESTIONS
from tiny_gpt2 import build_tiny_gpt2, build_tiny_llava

from robust.cli import main
from robust.items import Example, Item
from robust.models import fingerprint_hash, load_model
from robust.models.hf import HFModel

ITEMS = [Item(id=f"q{i}", question=q, options=o, answer=a) for i, (q, o, a) in enumerate(QUESTIONS)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a shared 2-core box is 10x faster without thread contention
    yield build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"))
    torch.set_num_threads(threads)


def hf(path: Path, **options: object) -> HFModel:
    model = load_model(f"hf:{path}", device="cpu", **options)
    assert isinstance(model, HFModel)
    return model


def full_sequence_loglikelihood(model: HFModel, context: str, continuation: str) -> float:
    """The textbook computation: one pass over context + continuation, no cache, no batching."""
    import torch

    from robust.models.hf import encode_pair

    ctx, cont = encode_pair(model._tokenizer, context, continuation)
    ids = torch.tensor([(ctx + cont)[:-1]])
    with torch.no_grad():
        logprobs = torch.log_softmax(model._model(ids).logits[0].float(), dim=-1)
    return float(sum(logprobs[len(ctx) - 1 + i, t] for i, t in enumerate(cont)))


@pytest.mark.parametrize("continuation", ["letter", "text"])
def test_loglikelihoods_match_a_plain_full_pass_at_any_batch_size(tiny: Path, continuation: str) -> None:
    one = dict(hf(tiny, continuation=continuation, batch_size=1).predict(ITEMS))
    model = hf(tiny, continuation=continuation, batch_size=16)
    many = dict(model.predict(ITEMS))
    for index, item in enumerate(ITEMS):
        for (context, cont), key in zip(model.requests(item), item.options):
            reference = full_sequence_loglikelihood(model, context, cont)
            assert many[index].extra["loglikelihood"][key] == pytest.approx(reference, abs=1e-4)
            assert one[index].extra["loglikelihood"][key] == pytest.approx(reference, abs=1e-4)
        prediction = many[index]
        assert prediction.probs is not None and sum(prediction.probs.values()) == pytest.approx(1.0)
        assert prediction.choice == max(prediction.probs, key=lambda k: prediction.probs[k])  # type: ignore[index]
        norm = prediction.extra["loglikelihood_norm"]
        texts = [cont for _, cont in model.requests(item)]
        assert norm == pytest.approx({k: prediction.extra["loglikelihood"][k] / len(t)
                                      for k, t in zip(item.options, texts)})


@pytest.mark.parametrize("continuation", ["letter", "text"])
def test_loglikelihoods_equal_lm_evaluation_harness(tiny: Path, continuation: str) -> None:
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    model = hf(tiny, continuation=continuation, batch_size=16)
    ours = dict(model.predict(ITEMS))
    harness = HFLM(pretrained=str(tiny), device="cpu", batch_size=16, dtype="float32")
    requests = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=j)
                for item in ITEMS for j, pair in enumerate(model.requests(item))]
    theirs = iter(harness.loglikelihood(requests, disable_tqdm=True))
    for index, item in enumerate(ITEMS):
        for key in item.options:
            assert ours[index].extra["loglikelihood"][key] == pytest.approx(next(theirs)[0], abs=1e-4)


def test_prompts_longer_than_the_window_are_truncated_like_lm_evaluation_harness(tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    short = build_tiny_gpt2(tmp_path / "short", positions=48)
    for continuation in ("letter", "text"):
        model = hf(short, continuation=continuation)
        ours = dict(model.predict(ITEMS[:4]))
        harness = HFLM(pretrained=str(short), device="cpu", batch_size=4, dtype="float32")
        requests = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=j)
                    for item in ITEMS[:4] for j, pair in enumerate(model.requests(item))]
        theirs = iter(harness.loglikelihood(requests, disable_tqdm=True))
        for index, item in enumerate(ITEMS[:4]):
            for key in item.options:
                assert ours[index].extra["loglikelihood"][key] == pytest.approx(next(theirs)[0], abs=1e-4)


def test_few_shot_examples_and_instruction_reach_the_prompt(tiny: Path) -> None:
    model = hf(tiny)
    example = Example(question="Which is first?", options={"A": "one", "B": "two"}, answer="A")
    item = ITEMS[0].replace(examples=(example,), instruction="Be careful.")
    context, continuation = model.requests(item)[1]
    assert "Which is first?" in context and "Answer: A" in context and "Be careful." in context
    assert context.endswith("Answer:") and continuation == " B"


def test_generation_mode_uses_the_chat_template(tiny: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    chat = tmp_path / "chat"
    import shutil

    shutil.copytree(tiny, chat)
    tokenizer = AutoTokenizer.from_pretrained(chat)
    tokenizer.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}<assistant>{% endif %}")
    tokenizer.save_pretrained(chat)
    model = hf(chat, generate=True, max_tokens=4, batch_size=4)
    prompt = model.prompt_text(ITEMS[0])
    assert prompt.startswith("<system>You are a medical expert") and prompt.endswith("<assistant>")
    answers = dict(model.predict(ITEMS[:6]))
    assert sorted(answers) == list(range(6))
    assert all(p.error is None and p.choice in (None, *ITEMS[0].options) for p in answers.values())
    assert model.fingerprint()["mode"] == "generate"
    one_by_one = hf(chat, generate=True, max_tokens=4, batch_size=1)
    assert [p.text for _, p in sorted(one_by_one.predict(ITEMS[:6]))] == [answers[i].text for i in range(6)]
    sampled = dict(hf(chat, generate=True, max_tokens=3, samples=4, temperature=1.0).predict(ITEMS[:1]))
    assert len(sampled[0].samples) == 4


def test_vision_language_models_generate_through_their_processor(tmp_path: Path) -> None:
    import numpy as np

    model = hf(build_tiny_llava(tmp_path / "llava"), max_tokens=3)
    assert model.is_vlm and model.generate and model.fingerprint()["mode"] == "generate"
    item = Item(id="img", question="Which organ is shown?", options={"A": "liver", "B": "lung"}, answer="A",
                images=(np.zeros((40, 40, 3), dtype=np.uint8),))
    inputs = model._chat_inputs(item)
    assert inputs["pixel_values"].shape[0] == 1
    image_token = model._tokenizer.convert_tokens_to_ids("<image>")
    assert int((inputs["input_ids"] == image_token).sum()) >= 1
    from robust.imaging import ArrayImage

    wide = item.replace(images=(ArrayImage(np.full((40, 40), 40000, dtype=np.uint16)),))  # 16-bit gray -> 8-bit RGB
    assert model._chat_inputs(wide)["pixel_values"].shape == inputs["pixel_values"].shape
    [(_, prediction)] = list(model.predict([item]))
    assert prediction.error is None and prediction.choice in (None, "A", "B")


def test_fingerprint_follows_scoring_settings(tiny: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text("version: mine\nuser: \"{{ question }}\\n{{ options_text }}\"\n")
    hashes = {fingerprint_hash(hf(tiny)), fingerprint_hash(hf(tiny, continuation="text")),
              fingerprint_hash(hf(tiny, template=str(template))), fingerprint_hash(hf(tiny, dtype="bfloat16"))}
    assert len(hashes) == 4
    assert fingerprint_hash(hf(tiny, batch_size=3)) == fingerprint_hash(hf(tiny))


def test_cli_run_with_a_local_model(tiny: Path, medqa_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["attack", "--bench", "medqa", "--data", str(medqa_file), "--model", f"hf:{tiny}", "--device", "cpu",
                 "--batch-size", "8", "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["fingerprint"]["adapter"] == "hf" and config["fingerprint"]["mode"] == "loglikelihood"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_items"] == len(QUESTIONS) and summary["errors"] == 0


def test_a_ray_driver_keys_requests_without_loading_the_weights(tiny: Path) -> None:
    """Under --executor ray the driver builds the model with load_weights=False: same fingerprint
    and request keys as a loaded one, no weights in memory; predict still loads on first use."""
    from robust.items import Variant
    from robust.run.experiment import driver_options
    from robust.run.runner import request_key

    assert driver_options({"device": "cpu"}, "ray") == {"device": "cpu", "load_weights": False}
    assert driver_options({"device": "cpu"}, "local") == {"device": "cpu"}
    driver = hf(tiny, **driver_options({}, "ray"))
    loaded = hf(tiny)
    assert driver._model is None and loaded._model is not None
    assert fingerprint_hash(driver) == fingerprint_hash(loaded)
    variant = Variant.clean(ITEMS[0], "bias")
    assert request_key(driver, variant) == request_key(loaded, variant)
    for (i, lazy), (j, eager) in zip(driver.predict(ITEMS[:2]), loaded.predict(ITEMS[:2])):
        assert i == j and lazy.choice == eager.choice and lazy.text == eager.text
        assert lazy.probs == pytest.approx(eager.probs, abs=1e-6)
