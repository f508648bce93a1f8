"""MMLU-style CSV (Hendrycks et al. 2021): rows ``question, A, B, C, D, answer`` without a
header, as in ``clinical_knowledge_test.csv``; a header row naming those columns is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..errors import InputError
from ..items import Item
from ._io import iter_csv
from .base import content_id, finalize, make_item

COLUMNS = ("question", "A", "B", "C", "D", "answer")


class MMLU:
    name = "mmlu-med"
    default_data: Path | None = None
    format = "mmlu-csv"
    mapping_keys: frozenset[str] = frozenset()

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None) -> list[Item]:
        return finalize(self._records(path), path)

    def _records(self, path: Path):  # type: ignore[no-untyped-def]
        first = True
        for line, row in iter_csv(path, header=False):
            assert isinstance(row, list)
            if first and [c.strip().lower() for c in row] == [c.lower() for c in COLUMNS]:
                first = False
                continue
            first = False
            if len(row) != 6:
                raise InputError(f"expected 6 columns (question, A, B, C, D, answer), found {len(row)}", path=path, line=line)
            question, *option_texts, answer = (c.strip() for c in row)
            options = dict(zip("ABCD", option_texts))
            answer = answer.upper()
            if answer not in options:
                raise InputError(f"{answer!r} is not one of A, B, C, D", path=path, line=line, field="answer")
            yield line, make_item(
                path=path, line=line, item_id=content_id("mmlu", question, options), question=question,
                options=options, answer=answer, meta={"subject": path.stem.removesuffix("_test").removesuffix("_dev")},
            ), False


def export_record(item: Item) -> list[str]:
    """Back to an MMLU CSV row (for `robust perturb`): question, A, B, C, D, answer."""
    from ..errors import UsageError

    if list(item.options) != list("ABCD"):
        raise UsageError(f"{item.id}: MMLU rows hold exactly the options A-D, this variant has "
                         f"{', '.join(item.options)}; export it with --bench jsonl instead")
    return [item.question, *(item.options[k] for k in "ABCD"), item.answer]
