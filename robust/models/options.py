"""Adapter settings on the command line. Every verb that runs a model shares these flags; a
factory reads the ones it understands from its keyword options."""

from __future__ import annotations

import argparse
from typing import Any

#: flag dest names passed to model factories when set
MODEL_OPTION_NAMES: list[str] = ["device"]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model settings")
    group.add_argument("--device", help="torch device for local models (cpu, cuda, cuda:1; default: cuda if available)")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in MODEL_OPTION_NAMES if getattr(args, name, None) is not None}
