"""The offline default model is deterministic and better than chance on the bundled sample."""

from __future__ import annotations

from scipy.stats import binomtest

from robust.benches import load_bench
from robust.models import load_model


def test_minilm_deterministic_and_better_than_chance() -> None:
    items = load_bench("medqa")[0]
    model = load_model("minilm")
    first = dict(model.predict(items))
    second = dict(load_model("minilm").predict(list(reversed(items))))
    second = {len(items) - 1 - i: p for i, p in second.items()}
    assert [first[i].choice for i in range(len(items))] == [second[i].choice for i in range(len(items))]
    for i in range(len(items)):
        assert abs(first[i].confidence - second[i].confidence) < 1e-5
        assert abs(sum(first[i].probs.values()) - 1) < 1e-9
    correct = sum(first[i].choice == items[i].answer for i in range(len(items)))
    assert binomtest(correct, len(items), 0.2, alternative="greater").pvalue < 0.05
