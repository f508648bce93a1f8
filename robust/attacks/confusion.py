"""``--attack confusion``: MediConfusion's confusing pairs (Sepehri et al., ICLR 2025).

A pair is two images with one two-option question and opposite correct answers. Scores, as the
paper defines them: **set accuracy** (both images of a pair right), **individual accuracy** (each
question on its own), **confusion rate** (the same option chosen for both images, over pairs whose
two answers are valid) and the **invalid rate** (answers that name no option); per category, with
the random-guess references 25 % set accuracy and 50 % confusion.

Answer modes (``--answer-mode``): ``letter`` is the parsed option letter; ``probs`` is the option
with the highest probability when the adapter gives probabilities (OpenAI logprobs, python
functions, ``hf:`` log-likelihoods); ``auto`` (default) uses probabilities when every answered row
has them. MediConfusion's *prefix scoring* is ``hf:`` log-likelihood scoring of each option's text:
run the model with ``--continuation text`` and the probabilities are the option texts' likelihoods.

A bench with no pairs (items without ``meta['pair_id']``), such as ``phantom-vqa``, is first mined
for pairs among its own images with the offline embedders (``robust.mining``); the verdict says
how many pairs were found, and only those are scored.

Clean is the only arm: every question is asked as the benchmark has it (there is nothing to
perturb), so the summary has its clean row and the pair figures live in ``attack_metrics``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..imaging.refs import image_key
from ..items import Item, Variant
from .base import Attack

PAIR_KEYS = ("pair_id", "pair", "group")
MODES = ("auto", "letter", "probs")
RANDOM_SET_ACCURACY = 0.25
RANDOM_CONFUSION = 0.5
_MODALITY_NAMES = {"ct": "CT", "mri": "MRI", "xray": "X-ray", "pathology": "pathology slide"}


def pair_of(item: Item) -> str | None:
    for key in PAIR_KEYS:
        value = item.meta.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def image_label(meta: Mapping[str, Any]) -> str:
    """A description of an image from its metadata, used as a mined pair's option text:
    a caption or label when the bench has one, else modality, organ, finding and position."""
    for key in ("caption", "label"):
        if meta.get(key):
            return str(meta[key])
    parts = []
    modality, organ = meta.get("modality"), meta.get("organ")
    if modality or organ:
        head = _MODALITY_NAMES.get(str(modality), str(modality)) if modality else "image"
        parts.append(f"{head} of the {organ}" if organ else head)
    finding = meta.get("finding")
    if finding not in (None, ""):
        if str(finding) == "none":
            parts.append("no abnormal finding")
        else:
            position = meta.get("position")
            where = f" on the {position}" if position in ("left", "right") else \
                f" in the {position} part" if position in ("upper", "lower") else ""
            parts.append(f"{finding}{where}")
    return ", ".join(parts)


class ConfusionAttack(Attack):
    name: ClassVar[str] = "confusion"
    result_columns = frozenset({"params", "probs"})
    summary: ClassVar[str] = "MediConfusion pairs: set accuracy, confusion rate (mines pairs when the bench has none)"
    requires: ClassVar[frozenset[str]] = frozenset({"options", "images"})

    def __init__(self, answer_mode: str = "auto", embed_a: str = "thumbnail", embed_b: str = "hog", tau_a: float = 0.9,
                 tau_b: float | None = None, max_pairs: int | None = None) -> None:
        if answer_mode not in MODES:
            raise UsageError(f"--answer-mode is one of {', '.join(MODES)} (got {answer_mode!r})")
        for flag, value in (("--tau-a", tau_a), ("--tau-b", tau_b)):
            if value is not None and not -1.0 <= value <= 1.0:
                raise UsageError(f"{flag} is a cosine, between -1 and 1 (got {value})")
        self.answer_mode = answer_mode
        self.embed_a, self.embed_b = embed_a, embed_b
        self.tau_a = float(tau_a)
        self.tau_b = None if tau_b is None else float(tau_b)
        self.max_pairs = max_pairs
        self.mining: dict[str, Any] | None = None  # set when the bench had no pairs and we mined some

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("confusion attack")
        group.add_argument("--answer-mode", default="auto", choices=MODES,
                           help="letter (parsed), probs (most probable option), auto (probs when every answer "
                                "has them; default). For hf: prefix scoring add --continuation text")
        group.add_argument("--embed-a", default="thumbnail", help="mining, benches without pairs: embedder that "
                                                                  "must call a pair close (default thumbnail)")
        group.add_argument("--embed-b", default="hog", help="mining: embedder that must call it far (default hog)")
        group.add_argument("--tau-a", type=float, default=0.9, help="mining: cos under A at least (default 0.9)")
        group.add_argument("--tau-b", type=float, default=None,
                           help="mining: cos under B at most (default: relative, the lowest quarter of cos_B among "
                                "the pairs close under A — the offline embedders see a bench's own images alike)")
        group.add_argument("--max-pairs", type=int, help="mining: keep at most this many pairs")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ConfusionAttack":
        return cls(answer_mode=getattr(args, "answer_mode", "auto") or "auto",
                   embed_a=getattr(args, "embed_a", "thumbnail") or "thumbnail",
                   embed_b=getattr(args, "embed_b", "hog") or "hog",
                   tau_a=float(getattr(args, "tau_a", 0.9)), tau_b=getattr(args, "tau_b", None),
                   max_pairs=getattr(args, "max_pairs", None))

    def options(self) -> Mapping[str, Any]:
        out: dict[str, Any] = {"answer_mode": self.answer_mode}
        if self.mining is not None:
            out["mining"] = self.mining
        return out

    def check(self, items: Sequence[Item]) -> None:
        super().check(items)
        paired = [i for i in items if pair_of(i) is not None]
        if paired and len(paired) != len(items):
            first = next(i for i in items if pair_of(i) is None)
            raise UsageError(f"attack 'confusion': {len(paired)} items belong to a pair but {first.id} does not "
                             "(a pairs bench has every item in a pair)")
        sizes: dict[str, int] = defaultdict(int)
        for item in paired:
            sizes[str(pair_of(item))] += 1
        odd = sorted(k for k, n in sizes.items() if n != 2)
        if odd:
            raise UsageError(f"attack 'confusion': pair {odd[0]} has {sizes[odd[0]]} items, not 2 "
                             f"({len(odd)} such pairs; --limit may have cut one)")

    def pairs(self, items: Sequence[Item], seed: int) -> list[Item]:
        """The bench's pairs, or pairs mined among its images when it has none."""
        if items and all(pair_of(i) is not None for i in items):
            return list(items)
        from ..mining import Candidate, mine, pair_items

        candidates: list[Candidate] = []
        seen: set[str] = set()
        for item in items:
            if not item.images:
                continue
            image_id = str(item.meta.get("image_id") or image_key(item.images[0]))
            if image_id in seen:
                continue
            seen.add(image_id)
            label = image_label(item.meta) or item.answer_text
            category = str(item.meta.get("modality") or item.meta.get("category") or "all")
            candidates.append(Candidate(image=item.images[0], name=image_id, label=label, category=category,
                                        meta={"image_id": image_id, "source_item": item.id}))
        result = mine(candidates, embed_a=self.embed_a, embed_b=self.embed_b, tau_a=self.tau_a, tau_b=self.tau_b,
                      seed=seed, max_pairs=self.max_pairs)
        self.mining = result.report() | {"description": result.describe()}
        if not result.pairs:
            raise UsageError(f"the bench has no pairs, and mining found none: {result.describe()} "
                             "Lower --tau-a or raise --tau-b.")
        return pair_items(result)

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        out = []
        for item in self.pairs(items, seed):
            pair = pair_of(item)
            category = str(item.meta.get("category") or "all")
            out.append(Variant(item=item, source_id=item.id, attack=self.name, perturbation="clean",
                               group=f"pair:{pair}", params={"pair": pair, "category": category}))
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        if results is None or len(results) == 0:
            return {}
        rows = results[results["perturbation"] == "clean"]
        mode = self.answer_mode
        answered = rows[rows["error"].isna()]
        if mode == "auto":
            mode = "probs" if len(answered) and answered["probs"].notna().all() else "letter"
        figures = confusion_scores(rows, mode)
        if self.mining is not None:
            figures["mining"] = self.mining
        figures["verdict"] = _verdict(figures, self.mining)
        return figures


def _answer(row: Mapping[str, Any], mode: str) -> str | None:
    """The option a row chose. In probability mode a tie for the top probability is no choice: the
    parsed letter is used when there is one (a random or undecided model must not become "always A")."""
    choice = row.get("choice")
    letter = None if choice is None or (isinstance(choice, float) and choice != choice) else str(choice)
    if mode == "probs":
        raw = row.get("probs")
        if raw is None or (isinstance(raw, float) and raw != raw):
            return letter
        probs = json.loads(raw) if isinstance(raw, str) else dict(raw)
        if not probs:
            return letter
        top = max(probs.values())
        best = [k for k, v in probs.items() if v == top]
        return best[0] if len(best) == 1 else letter
    return letter


def confusion_scores(rows: Any, mode: str = "letter") -> dict[str, Any]:
    """MediConfusion's figures from results rows (one per question, ``params`` naming the pair
    and category). A pair with an errored question is left out; an unparseable answer is invalid
    (wrong for accuracy, and its pair is not counted in the confusion rate)."""
    by_pair: dict[str, list[dict[str, Any]]] = defaultdict(list)
    n_errors = 0
    for row in rows.to_dict(orient="records"):
        params = json.loads(row["params"]) if isinstance(row["params"], str) else dict(row["params"] or {})
        if row.get("error") is not None and row.get("error") == row.get("error"):
            n_errors += 1
            by_pair[str(params.get("pair"))].append({"error": True})
            continue
        answer = _answer(row, mode)
        by_pair[str(params.get("pair"))].append({"error": False, "answer": answer, "gold": row["answer"],
                                                "category": str(params.get("category", "all"))})
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for members in by_pair.values():
        if len(members) != 2 or any(m["error"] for m in members):
            totals["all"]["incomplete"] += 1
            continue
        for key in ("all", members[0]["category"]):
            t = totals[key]
            t["pairs"] += 1
            right = [m["answer"] == m["gold"] for m in members]
            invalid = [m["answer"] is None for m in members]
            t["questions"] += 2
            t["right"] += sum(right)
            t["invalid"] += sum(invalid)
            t["set_right"] += all(right)
            if not any(invalid):
                t["valid_pairs"] += 1
                t["confused"] += members[0]["answer"] == members[1]["answer"]
    overall = _figures(totals.get("all", {}))
    overall["n_pairs_incomplete"] = int(totals.get("all", {}).get("incomplete", 0))
    overall["n_errors"] = n_errors
    overall["answer_mode"] = mode
    overall["random_set_accuracy"] = RANDOM_SET_ACCURACY
    overall["random_confusion_rate"] = RANDOM_CONFUSION
    if overall["n_pairs"]:
        from scipy.stats import binomtest

        test = binomtest(overall["n_set_right"], overall["n_pairs"], RANDOM_SET_ACCURACY)
        overall["set_accuracy_vs_random_p"] = float(test.pvalue)
    overall["by_category"] = {key: _figures(t) for key, t in sorted(totals.items()) if key != "all"}
    return overall


def _figures(t: Mapping[str, int]) -> dict[str, Any]:
    pairs, questions, valid = t.get("pairs", 0), t.get("questions", 0), t.get("valid_pairs", 0)
    return {
        "n_pairs": int(pairs),
        "n_set_right": int(t.get("set_right", 0)),
        "set_accuracy": t.get("set_right", 0) / pairs if pairs else None,
        "individual_accuracy": t.get("right", 0) / questions if questions else None,
        "n_valid_pairs": int(valid),
        "confusion_rate": t.get("confused", 0) / valid if valid else None,
        "invalid_rate": t.get("invalid", 0) / questions if questions else None,
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _verdict(f: Mapping[str, Any], mining: Mapping[str, Any] | None) -> str:
    head = f"{mining['description']} " if mining else ""
    if not f["n_pairs"]:
        return head + "No pair has both questions answered: nothing to score."
    worse = ""
    p = f.get("set_accuracy_vs_random_p")
    if p is not None and p < 0.05:
        worse = " (below random, p={:.3g})".format(p) if f["set_accuracy"] < RANDOM_SET_ACCURACY else \
            " (above random, p={:.3g})".format(p)
    mode = "probability" if f["answer_mode"] == "probs" else "parsed-letter"
    pairs, valid = f["n_pairs"], f["n_valid_pairs"]
    return (head + f"MediConfusion on {pairs} pair{'s' if pairs != 1 else ''} ({mode} answers): set accuracy "
            f"{_pct(f['set_accuracy'])}{worse} vs 25% random, individual accuracy {_pct(f['individual_accuracy'])}, "
            f"confusion rate {_pct(f['confusion_rate'])} vs 50% random over {valid} valid pair"
            f"{'s' if valid != 1 else ''}, "
            f"invalid answers {_pct(f['invalid_rate'])}.")
