"""Dask execution of labelling tasks: a LocalCluster, an existing scheduler, or batch jobs
through dask-jobqueue (SLURM, PBS), chosen in ``compute.yaml`` (:mod:`ilforge.engine.compute`).

Dask's nanny starts each worker process with ``OMP_NUM_THREADS`` etc. = 1 (Dask's default
``distributed.nanny.pre-spawn-environ``); ilforge passes ``threads_per_worker`` explicitly as the
worker environment for LocalCluster and exports it in batch job scripts. Each worker runs one
task at a time (``threads_per_worker=1`` Dask thread) so the OpenMP threads are the only ones.

Network exposure: a Dask scheduler runs whatever its clients send, as the user who started it, so
it never listens on every interface (0.0.0.0). A LocalCluster listens on 127.0.0.1; a SLURM/PBS
cluster's scheduler on ``dask.host`` (default: this machine's hostname) or ``dask.interface``; the
dashboard is off unless ``dask.dashboard`` turns it on (127.0.0.1:8787 by default). ``dask.tls``
gives certificates for distributed's ``Security`` (TLS with encryption required, ``tls://``). The
keyword arguments are built by :func:`local_cluster_kwargs` and :func:`jobqueue_kwargs`, which
start nothing.
"""

from __future__ import annotations

import logging
import socket

from ilforge import trust
from ilforge.engine.base import Executor
from ilforge.engine.compute import ComputeError, ComputeSettings, DaskSettings
from ilforge.engine.threads import thread_env
from ilforge.errors import require

log = logging.getLogger(__name__)

#: where the dashboard listens when ``dask.dashboard`` is true
DASHBOARD_ADDRESS = "127.0.0.1:8787"


def security(d: DaskSettings):
    """distributed's ``Security`` of ``dask.tls`` (None without TLS)."""
    if d.tls is None:
        return None
    from distributed.security import Security

    p = d.tls.paths()
    return Security(tls_ca_file=p["ca_file"], tls_client_cert=p["cert"], tls_client_key=p["key"],
                    tls_scheduler_cert=p["cert"], tls_scheduler_key=p["key"], tls_worker_cert=p["cert"],
                    tls_worker_key=p["key"], require_encryption=True)


def _dashboard(d: DaskSettings) -> dict:
    """Scheduler keywords of the dashboard: off, or on 127.0.0.1 / the address given."""
    if d.dashboard is False:
        # the scheduler still serves a few HTTP routes (health, info): on the loopback only
        return {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
    return {"dashboard": True, "dashboard_address": DASHBOARD_ADDRESS if d.dashboard is True else str(d.dashboard)}


def scheduler_host(d: DaskSettings) -> str | None:
    """The host a batch-job cluster's scheduler listens on: ``dask.host``; None when ``dask.interface``
    names the interface; else this machine's hostname (a warning when it resolves to the loopback only,
    which workers on other nodes cannot reach)."""
    if d.host:
        return d.host
    if d.interface:
        return None
    host = socket.gethostname()
    try:
        ip = socket.gethostbyname(host)
    except OSError:
        ip = ""
    if not ip or ip.startswith("127."):
        log.warning("dask: this machine's hostname %r resolves to %r; workers on other nodes may not reach the "
                    "scheduler: set dask.host (an address they can reach) or dask.interface (e.g. ib0)", host, ip)
    return host


def local_cluster_kwargs(settings: ComputeSettings) -> dict:
    """Keyword arguments of ``distributed.LocalCluster`` (scheduler on 127.0.0.1 or ``dask.host``,
    dashboard off unless asked for, TLS when ``dask.tls``, thread limits and the trust opt-in as the
    worker environment)."""
    d = settings.dask
    sec = security(d)
    dash = _dashboard(d)
    opts = {"n_workers": settings.workers, "threads_per_worker": 1, "processes": True,
            "host": d.host or "127.0.0.1", "dashboard_address": dash["dashboard_address"] if dash["dashboard"] else None,
            "env": {**thread_env(settings.threads_per_worker), **trust.worker_environment()}}
    if d.interface:
        opts.pop("host")
        opts["interface"] = d.interface
    if sec is not None:
        opts.update(security=sec, protocol="tls://")
    return {**opts, **d.options}


def jobqueue_kwargs(settings: ComputeSettings) -> dict:
    """Keyword arguments of a dask-jobqueue SLURMCluster/PBSCluster from ``settings.dask`` (no jobs).

    Each batch job runs ``processes`` worker processes (default: ``cores``, i.e. one single-threaded
    worker per core) and exports the thread limits (and the trust opt-in) in its job script; the
    scheduler listens on :func:`scheduler_host` or ``dask.interface``, never on 0.0.0.0."""
    d = settings.dask
    opts = dict(d.options)
    if "cores" not in opts or "memory" not in opts:
        raise ComputeError(f"dask.options must give cores and memory for a {d.cluster} cluster, e.g. "
                           "{cores: 16, memory: 32GB, walltime: '02:00:00', queue: normal}")
    env = {**thread_env(settings.threads_per_worker), **trust.worker_environment()}
    prologue = list(opts.pop("job_script_prologue", [])) + [f"export {k}={v}" for k, v in env.items()]
    opts.setdefault("processes", opts["cores"])
    sched = {**_dashboard(d), **dict(opts.pop("scheduler_options", None) or {})}
    if d.interface:  # dask-jobqueue binds the scheduler to it too when no host is given
        opts["interface"] = d.interface
    host = scheduler_host(d)
    if host is not None:
        sched.setdefault("host", host)
    sec = security(d)
    if sec is not None:
        opts.update(security=sec, protocol="tls://")
    return {"job_script_prologue": prologue, "scheduler_options": sched, **opts}


def jobqueue_cluster(settings: ComputeSettings):
    """A dask-jobqueue SLURMCluster/PBSCluster of :func:`jobqueue_kwargs` (no jobs started yet)."""
    jq = require("dask_jobqueue", "dask")
    cls = jq.SLURMCluster if settings.dask.cluster == "slurm" else jq.PBSCluster
    return cls(**jobqueue_kwargs(settings))


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
        if d.cluster == "local":
            from distributed import LocalCluster

            self._cluster = LocalCluster(**local_cluster_kwargs(settings))
            self._client = Client(self._cluster)
        elif d.cluster == "address":
            try:
                self._client = Client(d.address, timeout=30, security=security(d))
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


