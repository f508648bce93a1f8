"""Attacks: strategies that turn Items into Variants (and, when adaptive, query the model)."""

from __future__ import annotations

from ..registry import Registry
from .base import Attack, Evaluate

ATTACKS: Registry[type[Attack]] = Registry("attack", "robust.attacks")
ATTACKS.add("bias", "robust.attacks.bias:BiasAttack", "BiasMedQA: 7 cognitive biases pointing at a wrong option")

__all__ = ["ATTACKS", "Attack", "Evaluate"]
