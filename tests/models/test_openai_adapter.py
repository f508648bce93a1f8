"""The OpenAI-compatible adapter against a real HTTP server on 127.0.0.1 (tests/models/fake_openai.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_openai import FakeOpenAI

from robust.cli import main
from robust.errors import UsageError
from robust.items import Example, Item, Variant
from robust.models import fingerprint_hash, load_model
from robust.models.openai_compat import OpenAICompatible, option_probs_from_logprobs
from robust.run import ResponseStore, Runner

OPTIONS = {"A": "alpha", "B": "beta", "C": "gamma", "D": "delta"}


def items(n: int, marker: str = "") -> list[Item]:
    return [Item(id=f"q{i}", question=f"Question number {i}{marker}?", options=OPTIONS, answer="A") for i in range(n)]


_OPEN: list[OpenAICompatible] = []


@pytest.fixture(autouse=True)
def _close_models() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def model(server: FakeOpenAI, **options: object) -> OpenAICompatible:
    settings: dict[str, object] = {"base_url": server.url, "backoff": 0.01, "timeout": 5.0}
    settings.update(options)
    built = load_model("openai:fake-mc", **settings)
    assert isinstance(built, OpenAICompatible)
    _OPEN.append(built)
    return built


def test_every_kind_of_transient_failure_is_retried_until_it_succeeds(server: FakeOpenAI) -> None:
    server.behaviour.script.extend(["429", "500", "drop", "malformed", "hang", "429"])
    server.behaviour.hang_seconds = 2.0
    adapter = model(server, concurrency=2, timeout=0.5, retries=8)
    answers = dict(adapter.predict(items(6)))
    adapter.close()
    assert sorted(answers) == list(range(6))
    assert all(p.error is None and p.choice in OPTIONS for p in answers.values())
    assert server.completed == 6
    assert server.requests == 6 + 6  # each scripted failure cost exactly one extra request


def test_retry_after_is_honoured(server: FakeOpenAI) -> None:
    server.behaviour.script.append("429")
    server.behaviour.retry_after = "1"
    adapter = model(server, concurrency=1)
    began = time.perf_counter()
    [(_, prediction)] = list(adapter.predict(items(1)))
    adapter.close()
    assert prediction.error is None
    assert time.perf_counter() - began >= 1.0


def test_after_the_last_retry_the_item_carries_its_error_and_the_run_goes_on(server: FakeOpenAI) -> None:
    server.behaviour.always["number 3"] = "500"
    server.behaviour.always["number 5"] = "400"
    adapter = model(server, concurrency=4, retries=2)
    answers = dict(adapter.predict(items(8)))
    adapter.close()
    assert answers[3].choice is None and "HTTP 500" in str(answers[3].error) and "3 attempts" in str(answers[3].error)
    assert answers[5].error is not None and "HTTP 400" in answers[5].error and "context too long" in answers[5].error
    assert server.per_question["Question number 3?"] == 3  # 1 try + 2 retries
    assert server.per_question["Question number 5?"] == 1  # a 400 is not retried
    assert all(answers[i].error is None for i in (0, 1, 2, 4, 6, 7))


def test_nothing_already_answered_is_asked_again_after_a_crash(server: FakeOpenAI, tmp_path: Path) -> None:
    variants = [Variant.clean(item, "none") for item in items(40)]
    store = ResponseStore(tmp_path / "crash.sqlite")
    adapter = model(server, concurrency=4)
    seen = 0

    def crash(n: int) -> None:
        nonlocal seen
        seen += n
        if seen >= 15:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-run

    with pytest.raises(KeyboardInterrupt):
        Runner(adapter, store, on_progress=crash).evaluate(variants)
    saved = store.count()
    assert 15 <= saved < 40
    asked_first = dict(server.per_question)
    server.per_question.clear()
    runner = Runner(model(server, concurrency=4), store)
    predictions = runner.evaluate(variants)
    assert all(p.error is None for p in predictions)
    assert runner.counters.cache_hits == saved and runner.counters.model_calls == 40 - saved
    # questions whose answers were stored are never requested again
    answered_before = {v.item.question for v, p in zip(variants, predictions) if p.cached}
    assert len(answered_before) == saved
    assert not answered_before & set(server.per_question)
    assert set(asked_first) | set(server.per_question) == {v.item.question for v in variants}


def test_closing_the_answers_early_stops_every_request_still_to_go(server: FakeOpenAI) -> None:
    server.behaviour.latency = 0.05
    adapter = model(server, concurrency=32)  # the pool fills a few workers per turn of the loop
    answers = adapter.predict(items(400))
    taken = [next(answers) for _ in range(3)]
    answers.close()  # what the runner does on Ctrl-C or a stop: cancels what is in flight
    time.sleep(0.3)
    sent = server.requests
    time.sleep(0.3)
    assert len(taken) == 3 and sent == server.requests < 400  # nothing more goes out


def test_a_bug_in_one_worker_surfaces_and_stops_the_others(server: FakeOpenAI,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    server.behaviour.latency = 0.02
    adapter = model(server, concurrency=16)
    real = adapter._answer
    calls = 0

    async def flaky(session: object, item: Item) -> object:
        nonlocal calls
        calls += 1
        if calls == 40:
            raise RuntimeError("a bug, not a request failure")
        return await real(session, item)

    monkeypatch.setattr(adapter, "_answer", flaky)
    with pytest.raises(RuntimeError, match="a bug"):
        list(adapter.predict(items(400)))
    time.sleep(0.2)
    sent = server.requests
    time.sleep(0.3)
    assert sent == server.requests < 400


def run_cli(server: FakeOpenAI, data: Path, out: Path, *extra: str) -> int:
    return main(["attack", "--bench", "medqa", "--data", str(data), "--attack", "bias", "--model", "openai:fake-mc",
                 "--base-url", server.url, "--out", str(out), "--quiet", *extra])


def test_results_are_identical_with_concurrency_1_and_32(server: FakeOpenAI, medqa_file: Path, tmp_path: Path) -> None:
    server.behaviour.latency = 0.002
    assert run_cli(server, medqa_file, tmp_path / "c1", "--concurrency", "1", "--store", str(tmp_path / "s1")) == 0
    first_requests = server.requests
    assert run_cli(server, medqa_file, tmp_path / "c32", "--concurrency", "32", "--store", str(tmp_path / "s32")) == 0
    assert server.requests == 2 * first_requests  # separate stores: both runs asked everything
    one = pd.read_parquet(tmp_path / "c1" / "results.parquet")
    many = pd.read_parquet(tmp_path / "c32" / "results.parquet")
    columns = ["item_id", "variant_id", "choice", "correct", "text", "error"]
    pd.testing.assert_frame_equal(one[columns], many[columns])
    summary_1 = json.loads((tmp_path / "c1" / "summary.json").read_text())
    summary_32 = json.loads((tmp_path / "c32" / "summary.json").read_text())
    assert summary_1["perturbations"] == summary_32["perturbations"]
    assert summary_1["clean"] == summary_32["clean"]


def test_a_rerun_costs_no_requests_but_new_settings_never_get_stale_answers(
        server: FakeOpenAI, medqa_file: Path, tmp_path: Path) -> None:
    assert run_cli(server, medqa_file, tmp_path / "a") == 0
    first = server.requests
    assert run_cli(server, medqa_file, tmp_path / "b") == 0
    assert server.requests == first  # all from the store
    assert run_cli(server, medqa_file, tmp_path / "c", "--temperature", "0.7") == 0
    assert server.requests == 2 * first
    template = tmp_path / "template.yaml"
    template.write_text("version: terse-1\nuser: |\n  {{ question }}\n  {{ options_text }}\n  Letter only.\n")
    assert run_cli(server, medqa_file, tmp_path / "d", "--template", str(template)) == 0
    assert server.requests == 3 * first
    assert server.payloads[-1]["messages"][-1]["content"].endswith("Letter only.")


def test_fingerprint_holds_the_generation_settings_and_never_the_key(server: FakeOpenAI,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
    base = model(server)
    printed = json.dumps(dict(base.fingerprint()))
    assert "SECRET" not in printed and "SECRET" not in repr(base)
    for key in ("adapter", "base_url", "model", "temperature", "max_tokens", "samples", "template", "template_sha256"):
        assert key in base.fingerprint()
    hashes = {fingerprint_hash(base), fingerprint_hash(model(server, temperature=0.5)),
              fingerprint_hash(model(server, max_tokens=5)), fingerprint_hash(model(server, completions=True)),
              fingerprint_hash(model(server, samples=3, temperature=1.0)), fingerprint_hash(model(server, logprobs=0))}
    assert len(hashes) == 6
    assert fingerprint_hash(model(server, concurrency=64, rpm=600, timeout=9)) == fingerprint_hash(base)


def test_the_key_is_sent_but_never_written_to_the_run_folder_store_or_output(
        server: FakeOpenAI, medqa_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("MY_KEY", secret)
    server.behaviour.api_key = secret
    server.behaviour.always["chest pain"] = "500"
    store = tmp_path / "store.sqlite"
    assert run_cli(server, medqa_file, tmp_path / "run", "--api-key-env", "MY_KEY", "--retries", "0",
                   "--store", str(store)) == 0
    assert server.headers[-1]["Authorization"] == f"Bearer {secret}"
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    for path in [*(tmp_path / "run").rglob("*"), store]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_logprobs_give_per_option_probabilities(server: FakeOpenAI) -> None:
    adapter = model(server, logprobs=5)
    [(_, prediction)] = list(adapter.predict(items(1)))
    assert server.payloads[-1]["logprobs"] is True and server.payloads[-1]["top_logprobs"] == 5
    assert prediction.probs is not None and prediction.choice is not None
    assert prediction.probs[prediction.choice] == pytest.approx(0.8, abs=1e-4)
    assert sum(prediction.probs.values()) == pytest.approx(1.0)
    assert prediction.confidence == pytest.approx(0.8, abs=1e-4)


def test_log_probabilities_are_on_by_default_where_the_server_supports_them(server: FakeOpenAI) -> None:
    [(_, prediction)] = list(model(server).predict(items(1)))
    assert server.payloads[-1]["top_logprobs"] == 5 and prediction.confidence == pytest.approx(0.8, abs=1e-4)
    server.behaviour.reject_logprobs = True
    adapter = model(server)  # the pre-flight probe (before the first request) finds out and turns them off
    before = adapter.fingerprint()
    [(_, prediction)] = list(adapter.predict(items(1)))
    assert adapter.fingerprint() == before  # the store key never depends on what the pre-flight found
    assert "logprobs" not in server.payloads[-1] and prediction.error is None and prediction.probs is None
    unchecked = OpenAICompatible("fake-mc", base_url=server.url)  # no pre-flight: falls back per request
    _OPEN.append(unchecked)
    [(_, prediction)] = list(unchecked.predict(items(1)))
    assert prediction.error is None and "logprobs" not in server.payloads[-1]
    with pytest.raises(UsageError, match="rejects log-probabilities"):
        list(model(server, logprobs=3).predict(items(1)))  # asked for explicitly: said before any answer


def test_the_preflight_probe_goes_out_beside_get_models_so_the_check_costs_one_round_trip(
        server: FakeOpenAI) -> None:
    server.behaviour.models_latency = 0.3  # a slow model list: the probe is answered while it is served
    model(server).prepare()
    assert sorted(server.events) == ["models:end", "models:start", "probe"]
    assert server.events.index("probe") < server.events.index("models:end")
    server.reset()
    model(server, logprobs=0).prepare()  # nothing to probe: a listed model needs GET /models only
    assert server.events == ["models:start", "models:end"] and server.http_requests == 1


def test_answer_token_is_found_past_an_article_and_spellings_are_summed() -> None:
    tokens = [("A", {"A": -0.1}), (" patient", {" patient": -0.1}), (" B", {" B": np.log(0.6), "B": np.log(0.1),
                                                                            " C": np.log(0.3)})]
    probs = option_probs_from_logprobs(tokens, ["A", "B", "C", "D"], "B")
    assert probs == pytest.approx({"A": 0.0, "B": 0.7, "C": 0.3, "D": 0.0})
    assert option_probs_from_logprobs(tokens, ["A", "B"], None) is None


def test_sampling_gives_vote_confidence_and_keeps_the_samples(server: FakeOpenAI) -> None:
    adapter = model(server, samples=6, temperature=0.8)
    [(_, prediction)] = list(adapter.predict(items(1)))
    assert server.payloads[-1]["n"] == 6 and server.payloads[-1]["temperature"] == 0.8
    assert len(prediction.samples) == 6
    counts = {k: prediction.samples.count(k) for k in set(prediction.samples)}
    assert sorted(counts.values()) == [2, 4]  # the fake server disagrees on every third sample
    p = np.array([4 / 6, 2 / 6])
    assert prediction.confidence == pytest.approx(1 + (p * np.log(p)).sum() / np.log(4))
    assert prediction.choice == max(counts, key=lambda k: counts[k])


def test_servers_without_n_get_one_request_per_sample(server: FakeOpenAI) -> None:
    server.behaviour.support_n = False
    adapter = model(server, samples=3, temperature=1.0)
    [(_, prediction)] = list(adapter.predict(items(1)))
    assert len(prediction.samples) == 3 and server.requests == 3


def test_completions_api_and_few_shot_examples(server: FakeOpenAI) -> None:
    example = Example(question="Which is first?", options={"A": "one", "B": "two"}, answer="A", note="Because.")
    item = Item(id="x", question="Which is second?", options={"A": "one", "B": "two"}, answer="B",
                examples=(example,), instruction="Think about order.")
    adapter = model(server, completions=True)
    [(_, prediction)] = list(adapter.predict([item]))
    prompt = server.payloads[-1]["prompt"]
    assert "Which is first?" in prompt and "Answer: A\nBecause." in prompt and prompt.endswith("Answer:")
    assert prediction.choice in ("A", "B")
    chat = model(server)
    list(chat.predict([item]))
    messages = server.payloads[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "A\nBecause." and messages[3]["content"].startswith("Think about order.")


def test_images_are_sent_as_base64_image_url_parts(server: FakeOpenAI, tmp_path: Path) -> None:
    png = tmp_path / "scan.png"
    from PIL import Image

    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(png)
    item = Item(id="img", question="What is shown?", options=OPTIONS, answer="A",
                images=(str(png), np.full((2, 2, 3), 255, dtype=np.uint8)))
    [(_, prediction)] = list(model(server).predict([item]))
    assert prediction.error is None
    parts = server.payloads[-1]["messages"][-1]["content"]
    assert parts[0]["type"] == "text"
    assert [p["image_url"]["url"][:22] for p in parts[1:]] == ["data:image/png;base64,"] * 2


def test_images_are_never_dropped_silently_by_the_completions_api(server: FakeOpenAI) -> None:
    item = Item(id="img", question="What is shown?", options=OPTIONS, answer="A",
                images=(np.zeros((2, 2, 3), dtype=np.uint8),))
    [(_, prediction)] = list(model(server, completions=True).predict([item]))
    assert prediction.choice is None and "cannot send images" in str(prediction.error)
    assert server.requests == 0


def test_rpm_limit_spaces_requests(server: FakeOpenAI) -> None:
    adapter = model(server, rpm=600, concurrency=8)  # one request per 0.1 s
    began = time.perf_counter()
    list(adapter.predict(items(6)))
    assert time.perf_counter() - began >= 0.45


def test_a_run_where_most_requests_fail_stops_early_with_a_clear_message(
        server: FakeOpenAI, medqa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.behaviour.always["?"] = "500"
    code = run_cli(server, medqa_file, tmp_path / "run", "--retries", "0", "--concurrency", "2")
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped early" in err[0] and "HTTP 500" in err[0]
    assert server.requests < 30  # 96 variants, stopped after the first dozen or so
