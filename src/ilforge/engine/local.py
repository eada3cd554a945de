"""A local pool of worker processes (spawned, not forked) for labelling and training tasks.

Workers start with their thread limits set (``OMP_NUM_THREADS`` etc. = ``threads_per_worker``) in
the environment they are spawned with, so before any numerical library loads, ignore SIGINT (the parent handles Ctrl-C and stops them),
and on Linux die with their parent (``PR_SET_PDEATHSIG``), so a SIGKILL of ``ilforge label``
leaves no orphaned workers. A worker that crashes (segfault in a Fortran library) breaks the
pool; the pool is restarted on the next submit and the frames in flight are recorded as failed
attempts.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import logging
import multiprocessing as mp
import os
import signal
import sys

from ilforge.engine.base import Executor, InlineExecutor
from ilforge.engine.threads import THREAD_VARS, apply_thread_env, local_cpus, thread_env

log = logging.getLogger(__name__)


def _init_worker(threads: int) -> None:
    apply_thread_env(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:  # pragma: no cover - libc without prctl
            pass


class LocalPool(Executor):
    """``workers`` spawned processes with ``threads_per_worker`` threads each."""

    def __init__(self, workers: int = 1, threads_per_worker: int = 1, max_in_flight: int | None = None):
        self.workers = int(workers)
        self.threads_per_worker = int(threads_per_worker)
        self.max_in_flight = max_in_flight or 2 * self.workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._saved_env: dict | None = None

    def _ensure(self) -> cf.ProcessPoolExecutor:
        if self._pool is not None and getattr(self._pool, "_broken", False):
            log.warning("a worker process died; restarting the pool")
            self._kill()
        if self._pool is None:
            # the limits must be in the environment the workers start with: numpy's OpenBLAS sizes its
            # thread pool when it loads, before any initializer runs; they stay set while the pool lives
            # (workers are spawned on demand) and are restored when it closes
            if self._saved_env is None:
                self._saved_env = {k: os.environ.get(k) for k in THREAD_VARS}
                os.environ.update(thread_env(self.threads_per_worker))
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=mp.get_context("spawn"),
                initializer=_init_worker, initargs=(self.threads_per_worker,),
            )
        return self._pool

    def _restore_env(self) -> None:
        if self._saved_env is None:
            return
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = None

    def submit(self, fn, *args):
        return self._ensure().submit(fn, *args)

    @staticmethod
    def wait_first(futures) -> set:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for p in procs:
            if p.is_alive():
                p.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.join(timeout=5)

    def abort(self) -> None:
        """Stop at once (Ctrl-C): cancel queued tasks and kill the workers; work in flight is lost."""
        self._kill()
        self._restore_env()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._restore_env()



def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Threads of each of ``workers`` processes so that together they fill ``cores`` (default: the
    cores this process may run on), never fewer than one."""
    if cores is None:
        cores = local_cpus()
    return max(1, cores // max(1, workers))


def local_executor(workers: int = 1, cores: int | None = None) -> Executor:
    """``workers`` spawned processes with :func:`threads_per_worker` threads each, or, for one worker,
    the :class:`~ilforge.engine.base.InlineExecutor` (tasks run in this process)."""
    if workers <= 1:
        return InlineExecutor()
    return LocalPool(workers, threads_per_worker=threads_per_worker(workers, cores))
