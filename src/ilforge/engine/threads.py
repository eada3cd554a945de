"""Thread limits of worker processes: OpenMP (tblite, CP2K), OpenBLAS and MKL read these
variables when their libraries load, so they are set before any task runs in a worker."""

from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that limit a process to ``threads`` threads."""
    return {k: str(int(threads)) for k in THREAD_VARS}


def apply_thread_env(threads: int) -> None:
    """Set the thread limits in this process's environment (call before numerical libraries load)."""
    os.environ.update(thread_env(threads))
