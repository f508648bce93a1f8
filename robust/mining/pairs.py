"""Mined pairs as MediConfusion questions: the two-option question, the pairs file, the items.

A pair is useful only when its two images mean different things: the question asks which of the
two labels (or captions) describes the image, so the two images have opposite correct answers.
Pairs whose labels are equal cannot be asked that way and are dropped (and counted).

The pairs file is MediConfusion's ``dataset.json``: an object keyed by pair id, each value with
``im_1``, ``im_2`` (paths relative to the images folder), ``question``, ``option_A``, ``option_B``,
``im_1_correct``, ``im_2_correct``, ``category_1``, ``category_2``. MediConfusion's similarity
fields are named after its encoders (``BiomedCLIP_sim``, ``DINO_sim``); ours say which embedder
produced them instead: ``sim_a``, ``sim_b``, ``embed_a``, ``embed_b``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..items import Item
from ..seeding import rng_for
from .embedders import load_embedder
from .search import DEFAULT_BLOCK, PairSearch, confusing_pairs, quantiles, select_pairs

if TYPE_CHECKING:
    import numpy as np

QUESTION = "Which of the following descriptions matches this image?"
TEMPLATE_VERSION = "1"


@dataclass(frozen=True)
class Candidate:
    """One image offered to the miner: its reference, a path/name for the file, its label."""

    image: Any
    name: str
    label: str
    category: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MinedPair:
    pair_id: str
    first: Candidate
    second: Candidate
    option_a: str
    option_b: str
    first_correct: str  # "A" or "B"; the second image's answer is the other one
    sim_a: float
    sim_b: float

    @property
    def second_correct(self) -> str:
        return "B" if self.first_correct == "A" else "A"


@dataclass(frozen=True)
class MiningResult:
    pairs: list[MinedPair]
    search: PairSearch
    n_images: int
    n_same_label: int  # close/far pairs dropped because both images carry the same label
    embed_a: str
    embed_b: str
    tau_b_relative: bool = False  # tau_b was the lowest quarter of cos_B among the A-close pairs

    def report(self) -> dict[str, Any]:
        """What was found, in numbers: the counts and the similarity distributions of the kept pairs."""
        import numpy as np

        sim_a = np.asarray([p.sim_a for p in self.pairs], dtype=np.float64)
        sim_b = np.asarray([p.sim_b for p in self.pairs], dtype=np.float64)
        return {
            "n_images": self.n_images,
            "embed_a": self.embed_a,
            "embed_b": self.embed_b,
            "tau_a": self.search.tau_a,
            "tau_b": self.search.tau_b,
            "tau_b_relative": self.tau_b_relative,
            "n_close_under_a": self.search.n_close,
            "n_close_a_far_b": self.search.n_close_and_far,
            "n_same_label_dropped": self.n_same_label,
            "n_pairs": len(self.pairs),
            "sim_a_quantiles": quantiles(sim_a),
            "sim_b_quantiles": quantiles(sim_b),
        }

    def describe(self) -> str:
        """One honest paragraph: how many pairs, from how many images, and their similarities."""
        r = self.report()
        if not r["n_close_under_a"]:  # no cos_B threshold to speak of (a relative one has nothing to rank)
            return (f"Mined 0 confusing pairs from {r['n_images']} images: no pair has cos_A >= {r['tau_a']:g} "
                    f"({self.embed_a}), so none could be told apart under B ({self.embed_b}).")
        text = (f"Mined {r['n_pairs']} confusing pair{'s' if r['n_pairs'] != 1 else ''} from {r['n_images']} images: "
                f"{r['n_close_under_a']} pairs have cos_A >= {r['tau_a']:g} ({self.embed_a}), "
                f"{r['n_close_a_far_b']} of them {'has' if r['n_close_a_far_b'] == 1 else 'have'} cos_B <= {r['tau_b']:.3g} ({self.embed_b}"
                + (", the lowest quarter of cos_B among them" if self.tau_b_relative else "") + "); "
                + f"{r['n_same_label_dropped']} of those carry equal labels (no question with opposite answers), "
                f"the rest are kept with each image in at most one pair.")
        if r["sim_a_quantiles"]:
            qa, qb = r["sim_a_quantiles"], r["sim_b_quantiles"]
            text += (f" cos_A median {qa['median']:.3f} (min {qa['min']:.3f}, max {qa['max']:.3f}); "
                     f"cos_B median {qb['median']:.3f} (min {qb['min']:.3f}, max {qb['max']:.3f}).")
        return text


def mine(candidates: Sequence[Candidate], *, embed_a: str = "thumbnail", embed_b: str = "hog", tau_a: float = 0.9,
         tau_b: float | None = 0.5, seed: int = 0, block: int = DEFAULT_BLOCK, one_per_image: bool = True,
         max_pairs: int | None = None, vectors: tuple["np.ndarray", "np.ndarray"] | None = None) -> MiningResult:
    """Embed ``candidates`` with A and B, search, and turn the pairs with different labels into questions.

    Equal-label pairs are removed before the one-per-image matching, so an image is not used up by
    a pair that cannot become a question."""
    import numpy as np

    if vectors is None:
        images = [c.image for c in candidates]
        vectors = (load_embedder(embed_a).embed(images), load_embedder(embed_b).embed(images))
    search = confusing_pairs(vectors[0], vectors[1], tau_a=tau_a, tau_b=tau_b, block=block, one_per_image=False)
    labels = np.asarray([c.label.strip().lower() for c in candidates], dtype=object)
    different = labels[search.first] != labels[search.second] if search.first.size else np.zeros(0, dtype=bool)
    n_same = int((~different).sum())
    kept = select_pairs(search.first[different], search.second[different], search.sim_a[different],
                   search.sim_b[different], one_per_image, max_pairs)
    final = PairSearch(first=kept[0], second=kept[1], sim_a=kept[2], sim_b=kept[3], n_close=search.n_close,
                       n_close_and_far=search.n_close_and_far, tau_a=search.tau_a, tau_b=search.tau_b)
    pairs = []
    for number, (i, j, sa, sb) in enumerate(zip(final.first.tolist(), final.second.tolist(), final.sim_a.tolist(),
                                                final.sim_b.tolist()), start=1):
        first, second = candidates[i], candidates[j]
        pair_id = f"mined-{number:05d}"
        # which image's label is option A is a seeded coin, so "always A" is not always right for image 1
        first_is_a = bool(rng_for(seed, f"{first.name}|{second.name}", "mine-pairs").integers(2) == 0)
        option_a, option_b = (first.label, second.label) if first_is_a else (second.label, first.label)
        pairs.append(MinedPair(pair_id=pair_id, first=first, second=second, option_a=option_a, option_b=option_b,
                               first_correct="A" if first_is_a else "B", sim_a=sa, sim_b=sb))
    return MiningResult(pairs=pairs, search=final, n_images=len(candidates), n_same_label=n_same,
                        embed_a=embed_a, embed_b=embed_b, tau_b_relative=tau_b is None)


def pairs_document(result: MiningResult) -> dict[str, dict[str, Any]]:
    """The MediConfusion ``dataset.json`` object for the mined pairs."""
    out: dict[str, dict[str, Any]] = {}
    for pair in result.pairs:
        out[pair.pair_id] = {
            "im_1": pair.first.name,
            "im_2": pair.second.name,
            "question": QUESTION,
            "option_A": pair.option_a,
            "option_B": pair.option_b,
            "im_1_correct": pair.first_correct,
            "im_2_correct": pair.second_correct,
            "category_1": pair.first.category or pair.first.label,
            "category_2": pair.second.category or pair.second.label,
            "sim_a": round(pair.sim_a, 6),
            "sim_b": round(pair.sim_b, 6),
            "embed_a": result.embed_a,
            "embed_b": result.embed_b,
            "template_version": TEMPLATE_VERSION,
        }
    return out


def pair_items(result: MiningResult) -> list[Item]:
    """Two items per mined pair, sharing ``meta['pair_id']``: the same question and options, one
    image each, opposite answers."""
    items = []
    for pair in result.pairs:
        options = {"A": pair.option_a, "B": pair.option_b}
        for index, (candidate, answer) in enumerate(((pair.first, pair.first_correct),
                                                     (pair.second, pair.second_correct)), start=1):
            meta = dict(candidate.meta) | {"pair_id": pair.pair_id, "pair_member": index,
                                           "category": candidate.category or candidate.label,
                                           "sim_a": pair.sim_a, "sim_b": pair.sim_b, "image_name": candidate.name}
            items.append(Item(id=f"{pair.pair_id}/{index}", question=QUESTION, options=options, answer=answer,
                              images=(candidate.image,), meta=meta))
    return items
