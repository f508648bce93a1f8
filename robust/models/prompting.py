"""The versioned multiple-choice prompt every text-generating adapter sends.

A template is a system message, a user message (jinja2) and the few-shot answer format. The
built-in one lists the options and asks for the letter; users override it with a YAML file
(``--template FILE`` with keys ``version``, ``system``, ``user``, optionally ``example_answer``
and ``answer_prefix``). The template's version and content hash go into the model fingerprint,
so editing a template never serves answers made with the old one.

Few-shot ``Item.examples`` become earlier user/assistant turns in chat mode and earlier
question/answer blocks in text mode (completions, log-likelihood scoring).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..items import Example, Item
from ..yamlfile import read_yaml

BUILTIN_VERSION = "mcq-v1"

SYSTEM = ("You are a medical expert answering multiple-choice questions. "
          "Choose the single best option and answer with its letter.")

USER = """\
{% if instruction %}{{ instruction }}

{% endif %}{% if context %}{{ context }}

{% endif %}Question: {{ question }}

Options:
{{ options_text }}

Answer with the letter of the correct option ({{ keys }}) only."""

#: open questions (no options: VQA-RAD, SLAKE) with the built-in template
OPEN_SYSTEM = ("You are a medical expert answering questions about medical images. "
               "Answer with a single word or a short phrase.")
OPEN_USER = """\
{% if instruction %}{{ instruction }}

{% endif %}{% if context %}{{ context }}

{% endif %}Question: {{ question }}

Answer with a single word or a short phrase only."""

EXAMPLE_ANSWER = "{{ answer }}{% if note %}\n{{ note }}{% endif %}"
ANSWER_PREFIX = "Answer:"


@dataclass(frozen=True)
class PromptTemplate:
    version: str = BUILTIN_VERSION
    system: str = SYSTEM
    user: str = USER
    example_answer: str = EXAMPLE_ANSWER
    answer_prefix: str = ANSWER_PREFIX
    source: str = "builtin"

    @property
    def digest(self) -> str:
        blob = json.dumps([self.system, self.user, self.example_answer, self.answer_prefix])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def fingerprint(self) -> dict[str, str]:
        return {"template": self.version, "template_sha256": self.digest}

    def _render(self, source: str, values: Mapping[str, Any]) -> str:
        return _compile(source).render(**values).strip()

    @property
    def builtin(self) -> bool:
        return self.source == "builtin"

    def system_for(self, item: Item) -> str:
        return OPEN_SYSTEM if item.is_open and self.builtin else self.system

    def user_text(self, question: str, options: Mapping[str, str], *, context: str = "", instruction: str = "") -> str:
        source = OPEN_USER if not options and self.builtin else self.user
        values = {
            "question": question, "context": context, "instruction": instruction,
            "options": [{"key": k, "text": v} for k, v in options.items()],
            "options_text": "\n".join(f"{k}. {v}" for k, v in options.items()),
            "keys": ", ".join(options),
        }
        return self._render(source, values)

    def example_reply(self, example: Example) -> str:
        return self._render(self.example_answer, {"answer": example.answer, "note": example.note,
                                                  "answer_text": example.options.get(example.answer, "")})

    def messages(self, item: Item) -> list[dict[str, Any]]:
        """Chat messages: system, one user/assistant pair per example, then the question."""
        out: list[dict[str, Any]] = []
        if self.system_for(item):
            out.append({"role": "system", "content": self.system_for(item)})
        for example in item.examples:
            out.append({"role": "user", "content": self.user_text(example.question, example.options)})
            out.append({"role": "assistant", "content": self.example_reply(example)})
        out.append({"role": "user", "content": self.user_text(item.question, item.options, context=item.context,
                                                              instruction=item.instruction)})
        return out

    def text(self, item: Item) -> str:
        """One plain-text prompt ending in the answer prefix (``Answer:``), for completions and scoring."""
        blocks = [self.system_for(item)] if self.system_for(item) else []
        for example in item.examples:
            blocks.append(f"{self.user_text(example.question, example.options)}\n{self.answer_prefix} "
                          f"{self.example_reply(example)}")
        blocks.append(f"{self.user_text(item.question, item.options, context=item.context, instruction=item.instruction)}"
                      f"\n{self.answer_prefix}")
        return "\n\n".join(blocks)


_COMPILED: dict[str, Any] = {}


def _compile(source: str) -> Any:
    template = _COMPILED.get(source)
    if template is None:
        import jinja2

        template = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                                      autoescape=False).from_string(source)
        _COMPILED[source] = template
    return template


DEFAULT_TEMPLATE = PromptTemplate()
_FIELDS = ("version", "system", "user", "example_answer", "answer_prefix")


def load_template(path: str | Path | None) -> PromptTemplate:
    """The built-in template, or one read from a YAML file (missing keys keep the built-in text)."""
    if path is None or str(path) in ("", "builtin"):
        return DEFAULT_TEMPLATE
    file = Path(path)
    data = read_yaml(file)
    if not isinstance(data, dict):
        raise InputError("a prompt template is a mapping with keys " + ", ".join(_FIELDS), path=file)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InputError(f"unknown key (valid: {', '.join(_FIELDS)})", path=file, field=unknown[0])
    if "user" not in data:
        raise InputError("the template needs a user message", path=file, field="user")
    values = {key: str(data[key]) for key in _FIELDS if key in data and data[key] is not None}
    values.setdefault("version", f"custom:{file.name}")
    template = PromptTemplate(source=str(file), **values)
    import jinja2

    for key in ("system", "user", "example_answer"):
        try:
            _compile(getattr(template, key))
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"template syntax error: {exc.message}", path=file, line=exc.lineno, field=key) from None
    try:
        template.user_text("question?", {"A": "one", "B": "two"}, context="", instruction="")
    except jinja2.UndefinedError as exc:
        raise InputError(f"the user template uses an unknown variable ({exc.message}); available: question, "
                         "context, instruction, options, options_text, keys", path=file, field="user") from None
    return template
