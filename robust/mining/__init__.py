"""Confusing-pair mining (MediConfusion): images close under one embedder and far under another,
turned into two-option questions with opposite answers. Submodules import numpy lazily."""

from __future__ import annotations

from .pairs import Candidate, MinedPair, MiningResult, mine, pair_items, pairs_document

__all__ = ["Candidate", "MinedPair", "MiningResult", "mine", "pair_items", "pairs_document"]
