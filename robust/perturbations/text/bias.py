"""Cognitive-bias injection (the BiasMedQA mechanism): one sentence pointing at a wrong option.

Templates are data (``bias_templates.yaml``) so users can load their own wording; this module
only validates and applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ...errors import InputError
from ...yamlfile import read_yaml
from .sentences import insert_after_first_sentence, insert_after_first_sentence_biasmedqa

DEFAULT_TEMPLATES = Path(__file__).with_name("bias_templates.yaml")
BIASES = ("self_diagnosis", "recency", "confirmation", "frequency", "cultural", "status_quo", "false_consensus")
PLACEMENTS = ("append", "after_first_sentence")


@dataclass(frozen=True)
class BiasTemplate:
    name: str
    template: str
    placement: str
    education: str


STYLES = ("robust", "biasmedqa")


@dataclass(frozen=True)
class TemplateSet:
    name: str
    version: str
    biases: Mapping[str, BiasTemplate]
    instruction: str
    one_shot_note: str
    few_shot_note: str
    path: str
    #: "biasmedqa": sentences placed byte for byte as BiasMedQA's code places them (its sentence split
    #: for confirmation, the question kept as is before an appended sentence)
    style: str = "robust"
    #: item id -> bias -> option key: the wrong option a reproduced run must point at (BiasMedQA's own draws)
    distractors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def load_templates(path: str | Path | None = None) -> TemplateSet:
    """Read and validate a template file; every problem names the file and the field."""
    file = Path(path) if path is not None else DEFAULT_TEMPLATES
    data = read_yaml(file)
    if not isinstance(data, dict) or not isinstance(data.get("biases"), dict) or not data["biases"]:
        raise InputError("expected a mapping with a non-empty 'biases' mapping", path=file, field="biases")
    biases: dict[str, BiasTemplate] = {}
    for name, spec in data["biases"].items():
        field = f"biases.{name}"
        if not isinstance(spec, dict):
            raise InputError("expected a mapping with 'template' and 'placement'", path=file, field=field)
        template = spec.get("template")
        if not isinstance(template, str) or "{option}" not in template:
            raise InputError("must be text containing {option}", path=file, field=f"{field}.template")
        try:  # a placeholder other than {option} ("{foo}", "{0}", a lone "{") would fail mid-run
            template.format(option="A: option")
        except (KeyError, IndexError, ValueError) as exc:
            raise InputError(f"must contain no placeholder but {{option}} (write {{{{ and }}}} for literal braces): "
                             f"{type(exc).__name__}: {exc}", path=file, field=f"{field}.template") from None
        placement = spec.get("placement", "append")
        if placement not in PLACEMENTS:
            raise InputError(f"must be one of {', '.join(PLACEMENTS)}", path=file, field=f"{field}.placement")
        biases[str(name)] = BiasTemplate(str(name), template, placement, str(spec.get("education", "")))
    defaults: dict[str, Any] = {}
    if path is not None:
        defaults = load_templates(None).__dict__
    mitigation = data.get("mitigation") or {}
    style = str(data.get("style", "robust"))
    if style not in STYLES:
        raise InputError(f"must be one of {', '.join(STYLES)}", path=file, field="style")
    distractors = data.get("distractors") or {}
    if not isinstance(distractors, dict) or not all(
            isinstance(v, dict) and all(isinstance(k, str) and isinstance(o, str) for k, o in v.items())
            for v in distractors.values()):
        raise InputError("expected a mapping item id -> {bias: option key}", path=file, field="distractors")
    return TemplateSet(
        name=str(data.get("name", file.stem)),
        version=str(data.get("version", "1")),
        biases=biases,
        instruction=str(mitigation.get("instruction", defaults.get("instruction", ""))),
        one_shot_note=str(mitigation.get("one_shot_note", defaults.get("one_shot_note", ""))),
        few_shot_note=str(mitigation.get("few_shot_note", defaults.get("few_shot_note", ""))),
        path=str(file),
        style=style,
        distractors={str(k): dict(v) for k, v in distractors.items()},
    )


def quote_option(key: str, text: str) -> str:
    return f"{key}: {text}"


def inject_bias(question: str, template: BiasTemplate, option_key: str, option_text: str,
                style: str = "robust") -> str:
    """The question with one bias sentence pointing at ``option_key``, placed per the template
    (``style="biasmedqa"``: exactly where and how BiasMedQA's code puts it)."""
    sentence = template.template.format(option=quote_option(option_key, option_text))
    if style == "biasmedqa":
        if template.placement == "after_first_sentence":
            return insert_after_first_sentence_biasmedqa(question, sentence)
        return f"{question} {sentence}"
    if template.placement == "after_first_sentence":
        return insert_after_first_sentence(question, sentence)
    return f"{question.rstrip()} {sentence}"


#: BiasMedQA's condition names (its files are bias_output_<condition>_<model>.txt) -> robust's names
BIASMEDQA_BIASES = {"cultural_bias": "cultural"}
BIASMEDQA_MITIGATIONS = {"-mitigated": "education", "_education": "education", "_one-shot": "one_shot",
                         "_few-shot": "few_shot", "_one_shot": "one_shot", "_few_shot": "few_shot"}


def canonical_condition(name: str) -> str:
    """A BiasMedQA condition name as robust's perturbation name: ``cultural_bias`` -> ``cultural``,
    ``self_diagnosis-mitigated`` -> ``self_diagnosis+education``, ``recency_one-shot`` ->
    ``recency+one_shot``, ``one-shot`` (no bias) -> ``clean+one_shot``, ``confirmation_v2`` ->
    ``confirmation``; any other name is returned unchanged."""
    text = name.strip()
    mitigation = None
    for suffix, arm in BIASMEDQA_MITIGATIONS.items():
        if text.endswith(suffix):
            text, mitigation = text[: -len(suffix)], arm
            break
    if mitigation is None and text in ("one-shot", "few-shot", "one_shot", "few_shot", "education"):
        return f"clean+{text.replace('-', '_')}"
    if text.endswith("_v2"):
        text = text[:-3]
    text = BIASMEDQA_BIASES.get(text, text)
    if mitigation is None:
        return text if text in BIASES or text == "clean" else name
    if text not in BIASES:
        return name
    return f"{text}+{mitigation}"
