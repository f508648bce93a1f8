"""PubMedQA (Jin et al. 2019) ``ori_pqal.json``: a JSON object keyed by PMID whose values hold
``QUESTION``, ``CONTEXTS`` (abstract sections) and ``final_decision`` (yes / no / maybe)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..errors import InputError
from ..items import Item
from ._io import read_json
from .base import finalize, make_item

OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}
KEY_OF = {v: k for k, v in OPTIONS.items()}


class PubMedQA:
    name = "pubmedqa"
    default_data: Path | None = None
    format = "pubmedqa-json"
    mapping_keys: frozenset[str] = frozenset()

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None) -> list[Item]:
        data = read_json(path)
        if not isinstance(data, dict):
            raise InputError("expected a JSON object keyed by PMID", path=path)
        return finalize(self._records(path, data), path)

    def _records(self, path: Path, data: dict):  # type: ignore[no-untyped-def,type-arg]
        for index, (pmid, record) in enumerate(data.items(), start=1):
            where = f"PMID {pmid}"
            if not isinstance(record, dict):
                raise InputError(f"{where}: expected an object", path=path)
            for field in ("QUESTION", "CONTEXTS", "final_decision"):
                if field not in record:
                    raise InputError(f"{where}: missing", path=path, field=field)
            decision = str(record["final_decision"]).strip().lower()
            if decision not in KEY_OF:
                raise InputError(f"{where}: expected yes/no/maybe, got {decision!r}", path=path, field="final_decision")
            contexts = record["CONTEXTS"]
            if not isinstance(contexts, list):
                raise InputError(f"{where}: expected a list of strings", path=path, field="CONTEXTS")
            yield index, make_item(
                path=path, line=index, item_id=f"pubmedqa-{pmid}", question=str(record["QUESTION"]),
                options=OPTIONS, answer=KEY_OF[decision], context="\n".join(map(str, contexts)),
                meta={"pmid": str(pmid), "task": "yes/no/maybe"},
            ), True


def export_record(item: Item) -> dict[str, object]:
    """Back to an ori_pqal.json value (for `robust perturb`; the caller keys it by PMID)."""
    from ..errors import UsageError

    if dict(item.options) != OPTIONS:
        raise UsageError(f"{item.id}: PubMedQA records hold the fixed options yes/no/maybe; this variant has "
                         f"{', '.join(f'{k}={v}' for k, v in item.options.items())}; export it with --bench jsonl")
    return {"QUESTION": item.question, "CONTEXTS": item.context.split("\n") if item.context else [],
            "final_decision": OPTIONS[item.answer]}
