"""The ``robust`` command. One module per verb under ``robust.commands``; heavy libraries are
imported only inside the verb that needs them, so ``robust --help`` starts fast.

Exit codes: 0 ok, 1 a robustness gate failed, 2 usage or input error (one line, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from typing import Callable, Sequence, TextIO

from .errors import RobustError

#: verb -> module exposing ``HELP``, ``add_parser(subparsers, argv)`` and ``run(args) -> int``
COMMANDS = {
    "attack": "robust.commands.attack",
    "scan": "robust.commands.scan",
    "perturb": "robust.commands.perturb",
    "analyze": "robust.commands.analyze",
    "report": "robust.commands.report",
    "gate": "robust.commands.gate",
    "compare": "robust.commands.compare",
    "plan": "robust.commands.plan",
    "degrade": "robust.commands.degrade",
    "store": "robust.commands.store",
    "list": "robust.commands.list_",
    "mine-pairs": "robust.commands.mine_pairs",
    "templates": "robust.commands.templates",
}


def _available(module_name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module_name) is not None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="robust", description="Probe how medical AI models break: perturb a benchmark, "
                     "run the model clean and perturbed, report paired, statistically tested deltas.")
    parser.add_argument("--version", action="version", version=f"robust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMANDS.values():
        if not _available(module_name):
            continue
        module = importlib.import_module(module_name)
        module.add_parser(sub, argv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with warnings.catch_warnings():  # the caller's warning settings come back afterwards
        warnings.showwarning = _one_line_warning(set())
        return _main(argv)


def _one_line_warning(seen: set[str]) -> Callable[..., None]:
    """Warnings (ours and the libraries') as one ``robust: warning:`` line each, every message
    once: not Python's two lines of source file and code per call site."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        from .redact import redact_text

        text = redact_text(str(message))
        if text not in seen:
            seen.add(text)
            print(f"robust: warning: {text}", file=file or sys.stderr)

    return show


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    try:
        args = parser.parse_args(args_list)
        if not args.command:
            parser.print_help()
            return 2
        args.argv = args_list  # recorded verbatim in config.json
        module = importlib.import_module(COMMANDS[args.command])
        return int(module.run(args))
    except RobustError as exc:
        from .redact import redact_text

        print(f"robust: error: {redact_text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("robust: interrupted. Answers received so far are saved in the response store; "
              "re-run the same command to resume.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
