"""The offline default model is deterministic and better than chance on the bundled sample."""

from __future__ import annotations

from scipy.stats import binomtest

from robust.benches import load_bench
from robust.models import load_model
from robust.models.minilm import MiniLM, _TokenCache


def test_minilm_is_deterministic_whatever_the_order_and_batch() -> None:
    items = load_bench("medqa")[0][:12]
    model = load_model("minilm")
    assert isinstance(model, MiniLM)
    # a private, empty token cache for each pass: every text is encoded afresh, in other batches, while
    # the process-wide cache (what the other tests encoded) stays for them
    model._cache = _TokenCache()
    first = dict(model.predict(items))
    model._cache = _TokenCache()
    model.batch_size = 5
    reordered = dict(model.predict(list(reversed(items))))
    for index in range(len(items)):
        a, b = first[index], reordered[len(items) - 1 - index]
        assert a.choice == b.choice
        assert abs(a.confidence - b.confidence) < 1e-5
        assert abs(sum(a.probs.values()) - 1) < 1e-9


def test_minilm_better_than_chance_on_the_clean_sample() -> None:
    items = load_bench("medqa")[0]
    predictions = dict(load_model("minilm").predict(items))
    correct = sum(predictions[i].choice == item.answer for i, item in enumerate(items))
    # 5 options: chance is 20%. Measured: 37 of 128 (28.9%).
    assert binomtest(correct, len(items), 0.2, alternative="greater").pvalue < 0.05
