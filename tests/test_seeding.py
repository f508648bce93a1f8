"""The keyed generator: ``integers_for`` draws exactly what ``rng_for(...).integers`` draws."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robust.attacks.bias import BiasAttack
from robust.items import Item
from robust.seeding import integers_for, rng_for

keys = st.tuples(st.integers(-10**12, 10**12), st.text(max_size=30), st.text(max_size=12), st.integers(0, 5))
# the 32-bit draw's edges (1, 2**31, 2**32) and the 64-bit draw numpy switches to above 2**32
bounds = st.one_of(st.integers(1, 40), st.sampled_from([2**31 - 1, 2**31, 2**31 + 5, 2**32 - 1, 2**32, 2**32 + 1,
                                                        2**40]), st.integers(1, 2**32))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, bounds), min_size=1, max_size=20))
def test_integers_for_equals_a_generator_per_key(draws: list) -> None:
    got = integers_for([key for key, _ in draws], [high for _, high in draws])
    assert got == [int(rng_for(*key).integers(high)) for key, high in draws]


def test_integers_for_with_extra_key_parts_and_many_keys() -> None:
    many = [(7, f"item{i}", "recency", 0, "examples", i % 3) for i in range(3000)]
    highs = [1 + i % 9 for i in range(3000)]
    assert integers_for(many, highs) == [int(rng_for(*k).integers(h)) for k, h in zip(many, highs)]


def test_integers_for_refuses_what_numpy_refuses() -> None:
    assert integers_for([], []) == []
    with pytest.raises(ValueError):
        integers_for([(1, "a", "b", 0)], [0])
    with pytest.raises(ValueError):
        integers_for([(1, "a", "b", 0)], [3, 4])


def test_bias_distractors_drawn_together_equal_one_at_a_time() -> None:
    items = [Item(id=f"q{i}", question="A man has pain. What next?", options={k: k.lower() for k in "ABCDE"[: 2 + i % 4]},
                  answer="AB"[i % 2]) for i in range(60)]
    attack = BiasAttack()
    pairs = [(item, bias) for item in items for bias in attack.biases]
    together = attack.wrong_options(pairs, seed=5)
    for (item, bias), key in zip(pairs, together):
        wrong = sorted(k for k in item.options if k != item.answer)
        assert key == wrong[int(rng_for(5, item.id, bias).integers(len(wrong)))]
        assert attack.wrong_options([(item, bias)], seed=5) == [key]
