"""Thread limits of worker processes: OpenMP (tblite, CP2K, torch), OpenBLAS and MKL read these
variables when their libraries load, and OpenMM's CPU platform (the classical labeler) when it
creates a context, so they are set before any task runs in a worker. One OpenMM thread per worker
also makes its force sums run in a fixed order: classical labels no longer depend on how many
workers share the machine."""

from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENMM_CPU_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that limit a process to ``threads`` threads."""
    return {k: str(int(threads)) for k in THREAD_VARS}


def apply_thread_env(threads: int) -> None:
    """Set the thread limits in this process's environment (call before numerical libraries load)."""
    os.environ.update(thread_env(threads))


def local_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)
