"""ProbMed scoring on hand-built records whose figures are worked out by hand below, in our default
answer matching and in --compat (the published scorer's rules); and the shared group rule."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from robust.stats.groups import chance_group_accuracy, group_accuracy, group_accuracy_by
from robust.stats.probmed import classify_qa_type, compat_says, parse_yes_no, probmed_scores

from _probmed_records import RECORDS, T1, T2

def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-12)


def test_default_matching_figures_by_hand() -> None:
    s = probmed_scores(RECORDS)
    t1, t2 = s.by_image_type[T1], s.by_image_type[T2]
    # T1 modality: img1 (✓,✗) wrong, img2 right
    assert (t1["modality"].n, t1["modality"].right) == (2, 1)
    assert close(t1["modality"].accuracy, 0.5) and close(t1["modality"].accuracy_without_adversarial, 1.0)
    assert close(t1["modality"].random_guess, 0.25)
    assert (t1["body_part"].n, t1["body_part"].right) == (2, 2)
    assert (t1["abnormality"].n, t1["abnormality"].right) == (2, 2) and close(t1["abnormality"].random_guess, 0.5)
    assert t1["abnormality"].accuracy_without_adversarial is None
    # entity: img1 has two pairs, one wrong -> wrong; img2's lone question right
    assert (t1["entity"].n, t1["entity"].right) == (2, 1)
    assert close(t1["entity"].accuracy_without_adversarial, 1.0)
    assert close(t1["entity"].random_guess, (0.5 ** 4 + 0.5) / 2)
    assert (t1["grounding"].n, t1["grounding"].right) == (1, 0) and close(t1["grounding"].accuracy, 0.0)
    # T2: no abnormality question -> empty, not a division by zero
    assert t2["abnormality"].empty and t2["abnormality"].accuracy is None
    assert s.empty == (f"{T2}/abnormality",)
    assert (t2["body_part"].n, t2["body_part"].right) == (1, 0)
    assert (t2["grounding"].n, t2["grounding"].right) == (1, 1)  # the broken pair is left out
    assert s.n_incomplete_pairs == 1
    # aggregated over image types, weighted by images scored
    cat = s.by_category
    assert close(cat["modality"].accuracy, 2 / 3) and close(cat["body_part"].accuracy, 2 / 3)
    assert close(cat["abnormality"].accuracy, 1.0) and close(cat["entity"].accuracy, 2 / 3)
    assert close(cat["grounding"].accuracy, 0.5)
    assert close(cat["entity"].random_guess, (0.0625 + 0.5 + 0.25) / 3)
    assert close(s.overall_accuracy, 9 / 13)
    assert close(s.overall_without_adversarial, 1.0)
    assert close(s.overall_random_guess, (0.75 + 0.75 + 1.0 + 0.8125 + 0.5) / 13)
    assert s.n_questions == 26 and close(s.per_question_accuracy, 22 / 26)
    assert close(s.yes_rate, 13 / 26) and s.n_unparsed == 3


def test_compat_matching_figures_by_hand() -> None:
    s = probmed_scores(RECORDS, compat=True)
    t1, t2 = s.by_image_type[T1], s.by_image_type[T2]
    assert (t1["modality"].n, t1["modality"].right) == (2, 2)          # "None" counted as "no"
    assert (t1["body_part"].n, t1["body_part"].right) == (2, 1)        # lower-case "yes" inside a sentence missed
    assert close(t1["body_part"].accuracy_without_adversarial, 0.5)
    assert (t1["entity"].n, t1["entity"].right) == (2, 2)              # "Not ..." counted as "no"
    # compat weights entity/grounding by the images of the type (2 in T1), scored or not
    assert t1["grounding"].weight == 2.0 and t2["grounding"].weight == 1.0 and t1["entity"].weight == 2.0
    assert (t2["body_part"].n, t2["body_part"].right) == (1, 1)        # "Normal scan" counted as "no"
    assert t2["abnormality"].empty
    cat = s.by_category
    assert close(cat["modality"].accuracy, 1.0) and close(cat["body_part"].accuracy, 2 / 3)
    assert close(cat["entity"].accuracy, 1.0)
    assert close(cat["grounding"].accuracy, 1 / 3)                    # (0 * 2 + 1 * 1) / 3, not 1/2
    assert close(s.overall_accuracy, 11 / 14)
    assert close(s.overall_without_adversarial, 11 / 12)
    assert close(s.overall_random_guess, (0.75 + 0.75 + 1.0 + 3 * (0.5625 + 0.25) / 3 + 0.75) / 14)
    assert close(s.per_question_accuracy, 24 / 26)
    assert close(s.yes_rate, 12 / 26) and s.n_unparsed == 1


def test_verdict_words_match_the_figures() -> None:
    text = probmed_scores(RECORDS).verdict()
    assert "69.2% overall with the adversarial pairs" in text
    assert "100.0% on the ground-truth questions alone" in text
    assert f"Empty (nothing to score): {T2}/abnormality." in text
    assert "Per question 84.6% of 26" in text and "yes 50.0% of the time" in text
    assert "(compat answer matching)" in probmed_scores(RECORDS, compat=True).verdict()


def test_subsets_with_empty_categories_say_so() -> None:
    no_abnormality = probmed_scores([r for r in RECORDS if r["qa_type"] != "abnormality"], compat=True)
    assert no_abnormality.by_category["abnormality"].accuracy is None
    assert no_abnormality.empty == (f"{T1}/abnormality", f"{T2}/abnormality")
    assert close(no_abnormality.overall_accuracy, 9 / 12)  # 11/14 without the abnormality's 2 of weight 2
    only = probmed_scores([r for r in RECORDS if r["qa_type"] == "abnormality"])
    assert close(only.overall_accuracy, 1.0) and only.overall_without_adversarial is None
    assert only.empty == tuple(f"{T1}/{c}" for c in ("modality", "body_part", "entity", "grounding"))


@pytest.mark.parametrize("text,expected", [
    ("Yes", "yes"), ("yes.", "yes"), ("**No**, there is no lesion.", "no"), ("No abnormality", "no"),
    ("The answer is: no", "no"), ("Answer: Yes", "yes"), ("None", None), ("Not sure", None),
    ("Normal", None), ("", None), (None, None), ("Yes or no?", None), ("yes/no", None),
    ("<think>maybe no</think> Yes", "yes"), ("I cannot tell", None),
])
def test_default_yes_no_parser(text: str | None, expected: str | None) -> None:
    assert parse_yes_no(text) == expected


def test_compat_rule_is_the_published_substring_rule() -> None:
    assert compat_says("None", "no") and compat_says("Not sure", "no") and compat_says("Normal", "no")
    assert compat_says(" NO. ", "no") and compat_says("NO, none", "no") is False and compat_says("no.", "no") and compat_says(" no ", "no")
    assert compat_says("The answer is yes", "yes") is False and compat_says("Yes, No", "yes")
    assert compat_says("YES", "yes")  # whole answer, any case


def test_qa_types() -> None:
    assert classify_qa_type("entity_gt_12") == ("entity", "gt", "entity_12")
    assert classify_qa_type("grounding_hallu_3") == ("grounding", "hallu", "grounding_3")
    assert classify_qa_type("entity_hallu") == ("entity", "lone", "entity")
    assert classify_qa_type("body_part_hallu") == ("body_part", "hallu", "body_part")
    assert classify_qa_type("colour_gt") is None


def test_group_rule_and_chance() -> None:
    frame = pd.DataFrame({
        "group": ["a", "a", "b", "b", "c", "c", None],
        "correct": [True, True, True, False, True, True, False],
        "error": [None, None, None, None, "timeout", None, None],
        "kind": ["x", "x", "y", "y", "y", "y", "y"],
    })
    score = group_accuracy(frame)
    assert (score.n_groups, score.n_right, score.n_incomplete) == (2, 1, 1) and score.accuracy == 0.5
    by = group_accuracy_by(frame, "kind")
    assert by["x"].accuracy == 1.0 and (by["y"].n_groups, by["y"].n_right) == (1, 0)
    assert group_accuracy(frame.iloc[:0]).accuracy is None
    assert chance_group_accuracy({"a": 2, "b": 4}) == (0.25 + 0.0625) / 2
    assert chance_group_accuracy({}) is None


def test_a_question_table_without_answer_texts_makes_no_yes_rate_claim() -> None:
    from robust.stats.probmed import score_probmed_frame

    frame = pd.DataFrame({"image_type": ["t", "t"], "image": ["i", "i"], "category": ["modality"] * 2,
                          "role": ["gt", "hallu"], "pair": ["p", "p"], "correct": [True, False]})
    scores = score_probmed_frame(frame)
    assert scores.overall_accuracy == 0.0 and scores.overall_without_adversarial == 1.0
    assert scores.yes_rate is None and scores.n_unparsed is None
    assert "yes" not in scores.verdict().split("random guessing")[1]
