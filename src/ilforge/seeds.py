"""The one source of randomness: the recipe's ``seed``, derived deterministically per task.

Every random choice takes a seed; a task (a box, a sampling run, a rattle, an MD state point, a
committee member) gets ``derive_seed(recipe.seed, <what>, <identity>...)``, so the same recipe and
seed give the same result whatever order or process the tasks run in.
"""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *parts) -> int:
    """A stable 31-bit seed from ``seed`` and the identity of a task (same inputs, same seed).

    SHA-256 of ``"seed|part1|part2..."`` reduced modulo 2³¹ − 1, so it suits numpy, OpenMM and
    Packmol alike.
    """
    h = hashlib.sha256("|".join(str(p) for p in (int(seed), *parts)).encode()).hexdigest()
    return int(h[:8], 16) % (2**31 - 1)
