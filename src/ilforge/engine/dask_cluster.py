"""Dask execution of labelling tasks: a LocalCluster, an existing scheduler, or batch jobs
through dask-jobqueue (SLURM, PBS), chosen in ``compute.yaml`` (:mod:`ilforge.engine.compute`).

Dask's nanny starts each worker process with ``OMP_NUM_THREADS`` etc. = 1 (Dask's default
``distributed.nanny.pre-spawn-environ``); ilforge passes ``threads_per_worker`` explicitly as the
worker environment for LocalCluster and exports it in batch job scripts. Each worker runs one
task at a time (``threads_per_worker=1`` Dask thread) so the OpenMP threads are the only ones.
"""

from __future__ import annotations

import logging

from ilforge.engine.base import Executor
from ilforge.engine.compute import ComputeError, ComputeSettings
from ilforge.engine.threads import thread_env
from ilforge.errors import require

log = logging.getLogger(__name__)


def jobqueue_cluster(settings: ComputeSettings):
    """A dask-jobqueue SLURMCluster/PBSCluster from ``settings.dask.options`` (no jobs started yet).

    Each batch job runs ``processes`` worker processes (default: ``cores``, i.e. one single-threaded
    worker per core) and exports the thread limits in its job script."""
    jq = require("dask_jobqueue", "dask")
    d = settings.dask
    cls = jq.SLURMCluster if d.cluster == "slurm" else jq.PBSCluster
    opts = dict(d.options)
    if "cores" not in opts or "memory" not in opts:
        raise ComputeError(f"dask.options must give cores and memory for a {d.cluster} cluster, e.g. "
                           "{cores: 16, memory: 32GB, walltime: '02:00:00', queue: normal}")
    prologue = list(opts.pop("job_script_prologue", []))
    prologue += [f"export {k}={v}" for k, v in thread_env(settings.threads_per_worker).items()]
    opts.setdefault("processes", opts["cores"])
    return cls(job_script_prologue=prologue, **opts)


class DaskExecutor(Executor):
    """Submit tasks to a Dask cluster; same interface as :class:`ilforge.engine.local.LocalPool`."""

    def __init__(self, settings: ComputeSettings):
        require("distributed", "dask")
        from distributed import Client

        if not log.isEnabledFor(logging.INFO):  # Dask logs every worker start at INFO; keep the CLI quiet
            logging.getLogger("distributed").setLevel(logging.WARNING)
        self.settings = settings
        self.max_in_flight = settings.in_flight
        self._pending: set = set()
        self._cluster = None
        d = settings.dask
        env = thread_env(settings.threads_per_worker)
        if d.cluster == "local":
            from distributed import LocalCluster

            opts = {"n_workers": settings.workers, "threads_per_worker": 1, "processes": True,
                    "dashboard_address": None, "env": env, **d.options}
            self._cluster = LocalCluster(**opts)
            self._client = Client(self._cluster)
        elif d.cluster == "address":
            try:
                self._client = Client(d.address, timeout=30)
            except OSError as exc:
                raise ComputeError(f"cannot reach the Dask scheduler at {d.address}: {exc}") from None
        else:
            self._cluster = jobqueue_cluster(settings)
            self._cluster.scale(jobs=d.jobs)
            self._client = Client(self._cluster)
        log.info("dask client: %s", self._client)

    def submit(self, fn, *args):
        fut = self._client.submit(fn, *args, pure=False)
        self._pending.add(fut)
        return fut

    def wait_first(self, futures) -> set:
        from distributed import wait

        done = set(wait(futures, return_when="FIRST_COMPLETED").done)
        self._pending -= done
        return done

    def abort(self) -> None:
        """Cancel every task not finished and close the client (and the cluster ilforge started)."""
        try:
            if self._pending:
                self._client.cancel(list(self._pending))
        finally:
            self._pending.clear()
            self.close()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


