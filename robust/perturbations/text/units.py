"""Unit conversions a clinician reads as the same fact: °F↔°C, lb↔kg, in↔cm and, for glucose
only, mg/dL↔mmol/L. Each measurement is flipped to the other unit system; where the vignette
already gives both ("37°C (98.6°F)") the first is dropped and the second kept.

Factors: °F = °C × 9/5 + 32; 1 lb = 0.45359237 kg; 1 in = 2.54 cm;
glucose 1 mmol/L = 18.016 mg/dL (molar mass of glucose 180.16 g/mol).
Rounding (sensible for a vignette, and a round trip stays within it): temperatures 0.1°,
kg 0.1, lb 1, cm 1 (0.1 below 10 cm), in 0.1, mmol/L 0.1, mg/dL 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

LB_PER_KG = 1 / 0.45359237
CM_PER_IN = 2.54
GLUCOSE_MG_DL_PER_MMOL_L = 18.016


@dataclass(frozen=True)
class Conversion:
    to_unit: str
    convert: Callable[[float], float]
    decimals: Callable[[float], int]


CONVERSIONS: dict[str, Conversion] = {
    "°C": Conversion("°F", lambda c: c * 9 / 5 + 32, lambda v: 1),
    "°F": Conversion("°C", lambda f: (f - 32) * 5 / 9, lambda v: 1),
    "kg": Conversion("lb", lambda kg: kg * LB_PER_KG, lambda v: 0),
    "lb": Conversion("kg", lambda lb: lb / LB_PER_KG, lambda v: 1),
    "cm": Conversion("in", lambda cm: cm / CM_PER_IN, lambda v: 1),
    "in": Conversion("cm", lambda inch: inch * CM_PER_IN, lambda v: 1 if v < 10 else 0),
    "mg/dL": Conversion("mmol/L", lambda mg: mg / GLUCOSE_MG_DL_PER_MMOL_L, lambda v: 1),
    "mmol/L": Conversion("mg/dL", lambda mmol: mmol * GLUCOSE_MG_DL_PER_MMOL_L, lambda v: 0),
}

_UNIT_ALIASES = {"c": "°C", "f": "°F", "kg": "kg", "lb": "lb", "lbs": "lb", "pounds": "lb", "cm": "cm", "in": "in",
                 "inch": "in", "inches": "in", "mg/dl": "mg/dL", "mmol/l": "mmol/L"}

_NUM = r"\d+(?:\.\d+)?"
_TEMP = rf"(?<![\w.])(?P<v1>-?{_NUM})\s?°\s?(?P<u1>[CF])\b"  # temperatures may be negative
_MASS = rf"(?P<v1>{_NUM})(?P<hy>-|\s)?(?P<u1>kg|lbs?|pounds)\b"
# "in" is a preposition too: only after a number and before punctuation, "tall" or the end
_LENGTH = (rf"(?<!ft )(?<!ft)(?<!feet )(?P<v1>{_NUM})(?P<hy>-|\s)?"
           rf"(?P<u1>cm|inches|inch|in(?=\s*(?:[).,;]|tall\b|$)))(?![\w/])")
# heights in feet and inches ("5 ft 5 in"), alone or paired with centimetres either way round
_FT_IN = rf"\d+\s?(?:ft|feet)\s?{_NUM}\s?(?:in|inches)\b"
HEIGHT = re.compile(rf"(?P<cm>{_NUM})\s?cm\s?\((?P<imperial>{_FT_IN})\)"
                    rf"|(?P<imperial2>{_FT_IN})(?:\s?\((?P<cm2>{_NUM})\s?cm\))?")
_FT_IN_PARTS = re.compile(rf"(\d+)\s?(?:ft|feet)\s?({_NUM})")
_GLUCOSE = rf"(?P<v1>{_NUM})\s?(?P<u1>mg/dL|mmol/L)\b"


def _pattern(single: str) -> re.Pattern[str]:
    second = single.replace("v1", "v2").replace("u1", "u2").replace("hy", "hy2")
    return re.compile(rf"{single}(?:\s?\((?:{second})\))?")


PATTERNS = {
    "temperature": _pattern(_TEMP),
    "mass": _pattern(_MASS),
    "length": _pattern(_LENGTH),
    "glucose": _pattern(_GLUCOSE),
}
_GLUCOSE_CONTEXT = re.compile(r"glucose[^.;\d]{0,40}$", re.IGNORECASE)


def canonical_unit(raw: str) -> str:
    return _UNIT_ALIASES.get(raw.lower(), raw)


def format_number(value: float, decimals: int) -> str:
    text = f"{round(value, decimals):.{decimals}f}"
    return text[:-2] if text.endswith(".0") else text


def convert_value(value: float, unit: str) -> tuple[str, str]:
    """``value`` in ``unit`` -> (the converted value, rounded and formatted; the other unit)."""
    conversion = CONVERSIONS[unit]
    raw = conversion.convert(value)
    return format_number(raw, conversion.decimals(raw)), conversion.to_unit


def _render(number: str, unit: str, hyphen: str | None) -> str:
    if unit in ("°C", "°F"):
        return f"{number}{unit}"
    return f"{number}{'-' if hyphen == '-' else ' '}{unit}"


def convert_units(text: str) -> tuple[str, list[dict[str, str]]]:
    """Every temperature, weight, length and glucose value flipped to the other unit system.
    Returns the new text and one record per change (``kind``, ``from``, ``to``). All matches are
    found on the original text in one pass, so a converted value is never converted back."""
    spans: list[tuple[int, int, str, str]] = []  # start, end, replacement, kind

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in spans)

    for match in HEIGHT.finditer(text):
        spans.append((match.start(), match.end(), _height(match), "height"))
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            if not free(match.start(), match.end()):
                continue
            if kind == "glucose" and not _GLUCOSE_CONTEXT.search(text[max(0, match.start() - 60):match.start()]):
                continue
            unit = canonical_unit(match.group("u1"))
            hyphen = match.groupdict().get("hy")
            if match.group("v2") is not None and canonical_unit(match.group("u2")) == CONVERSIONS[unit].to_unit:
                # both systems given: keep the second only (the reader now sees the other unit)
                replacement = text[match.start("v2"):match.end("u2")]
            else:
                number, other = convert_value(float(match.group("v1")), unit)
                replacement = _render(number, other, hyphen)
                if match.group("v2") is not None:  # a parenthetical in an unrelated unit: keep it
                    replacement += text[match.end("u1"):match.end()]
            spans.append((match.start(), match.end(), replacement, kind))
    pieces: list[str] = []
    changes: list[dict[str, str]] = []
    last = 0
    for start, end, replacement, kind in sorted(spans):
        pieces.append(text[last:start])
        pieces.append(replacement)
        changes.append({"kind": kind, "from": text[start:end], "to": replacement})
        last = end
    pieces.append(text[last:])
    return "".join(pieces), changes


def _height(match: re.Match[str]) -> str:
    """"165 cm (5 ft 5 in)" -> "5 ft 5 in", "5 ft 5 in (165 cm)" -> "165 cm", "5 ft 5 in" -> "165 cm"."""
    if match.group("cm") is not None:
        return match.group("imperial")
    if match.group("cm2") is not None:
        return f"{match.group('cm2')} cm"
    feet, inches = _FT_IN_PARTS.match(match.group("imperial2")).groups()  # type: ignore[union-attr]
    return f"{format_number((int(feet) * 12 + float(inches)) * CM_PER_IN, 0)} cm"
