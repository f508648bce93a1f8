"""Attacks: strategies that turn Items into Variants (and, when adaptive, query the model)."""

from __future__ import annotations

from ..registry import Registry
from .base import Attack, Evaluate

ATTACKS: Registry[type[Attack]] = Registry("attack", "robust.attacks")
ATTACKS.add("bias", "robust.attacks.bias:BiasAttack", "BiasMedQA: 7 cognitive biases pointing at a wrong option")
ATTACKS.add("medfuzz", "robust.attacks.medfuzz:MedFuzzAttack", "MedFuzz: adaptive multi-turn patient-details attack")
ATTACKS.add("rewrite", "robust.attacks.rewrite:RewriteAttack", "clinical rewrites: units, abbreviations, distractor")
ATTACKS.add("noise", "robust.attacks.noise:NoiseAttack", "typos, OCR, char/word noise at severity 1-3; numbers kept")
ATTACKS.add("options", "robust.attacks.options:OptionsAttack", "option probes: shuffle, relabel, gold at each position")
ATTACKS.add("degrade", "robust.attacks.degrade:DegradeAttack", "MedQ-Deg image degradations by modality at calibrated severity 0-2 (or 1-5)")
ATTACKS.add("verify", "robust.attacks.verify:VerifyAttack", "yes/no verification probes with ProbMed group scoring")
ATTACKS.add("probe", "robust.attacks.probe:ProbeAttack", "ProbMed hallucination probes from image metadata, pair-scored")
ATTACKS.add("confusion", "robust.attacks.confusion:ConfusionAttack", "MediConfusion pairs: set accuracy, confusion rate")
ATTACKS.add("blind", "robust.attacks.blind:BlindAttack", "image questions with no, a blank and a noise image vs chance")

__all__ = ["ATTACKS", "Attack", "Evaluate"]
