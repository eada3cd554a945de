"""Block averaging: the mean of a correlated time series and its standard error.

The series is cut into ``n_blocks`` contiguous blocks (Flyvbjerg & Petersen, J. Chem. Phys. 91,
461 (1989)); block means are treated as independent, so the standard error of the mean is
``std(block_means, ddof=1) / sqrt(n_blocks)``. Blocks must be longer than the correlation time
for the error to be honest; the caller picks ``n_blocks`` (recipe ``analysis.n_blocks``).
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisError


def block_split(n: int, n_blocks: int) -> list[slice]:
    """Slices of ``n_blocks`` contiguous, equal-length blocks of ``range(n)`` (the remainder at the start is dropped)."""
    if n_blocks < 2:
        raise AnalysisError(f"n_blocks must be at least 2 to estimate an error, got {n_blocks}")
    size = n // n_blocks
    if size < 1:
        raise AnalysisError(f"{n} frames cannot be cut into {n_blocks} blocks; use fewer blocks or a longer run")
    off = n - size * n_blocks
    return [slice(off + k * size, off + (k + 1) * size) for k in range(n_blocks)]


def block_average(series, n_blocks: int = 5) -> tuple[float, float]:
    """Mean of ``series`` (shape (n,) or (n, ...)) over axis 0 and its block standard error."""
    x = np.asarray(series, dtype=float)
    means = np.array([x[s].mean(axis=0) for s in block_split(len(x), n_blocks)])
    mean = x[block_split(len(x), n_blocks)[0].start:].mean(axis=0)
    sem = means.std(axis=0, ddof=1) / np.sqrt(n_blocks)
    return mean, sem


def blocks_of(values) -> tuple[float, float]:
    """Mean and standard error of per-block estimates (e.g. a diffusion coefficient fitted in each block)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
