"""Every random choice draws from a generator derived from (run seed, item id, perturbation,
severity) — never a global RNG — so a variant is identical whatever the order, batch size or
number of workers."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def rng_for(seed: int, item_id: str, perturbation: str, severity: int = 0, *extra: object) -> np.random.Generator:
    import numpy as np  # lazily: attack modules load for `robust attack --help`

    key = repr((int(seed), str(item_id), str(perturbation), int(severity), *extra)).encode("utf-8")
    entropy = int.from_bytes(hashlib.sha256(key).digest()[:16], "little")
    return np.random.default_rng(np.random.SeedSequence(entropy))
