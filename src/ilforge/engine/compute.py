"""Compute settings (``compute.yaml``, separate from the recipe): where tasks run, and the executor
they describe (:func:`make_executor`).

Example (local process pool, the default)::

    backend: local
    workers: 2
    threads_per_worker: 1

Dask (``pip install 'ilforge[dask]'``)::

    backend: dask
    workers: 4                 # LocalCluster workers; for jobqueue: tasks in flight ~ 2 x workers
    dask:
      cluster: local           # local | address | slurm | pbs
      address: tcp://10.0.0.5:8786   # cluster: address
      jobs: 2                  # slurm/pbs: batch jobs to start (cluster.scale(jobs=...))
      options:                 # passed to LocalCluster / SLURMCluster / PBSCluster
        cores: 16
        memory: 32GB
        walltime: "02:00:00"
      host: login1.cluster     # where the scheduler listens (slurm/pbs default: this machine's hostname;
                               # local: 127.0.0.1); never 0.0.0.0
      interface: ib0           # or: the network interface of scheduler and workers (instead of host)
      dashboard: false         # true: on 127.0.0.1:8787 (reach it through an SSH tunnel); or "host:port"
      tls:                     # TLS between client, scheduler and workers (distributed's Security)
        ca_file: ~/.dask/ca.pem
        cert: ~/.dask/cert.pem
        key: ~/.dask/key.pem

Each worker process runs one task at a time with ``threads_per_worker`` OpenMP/BLAS threads
(``OMP_NUM_THREADS``; 1 by default, which suits xTB on many small frames).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ilforge.engine.base import Executor
from ilforge.errors import IlforgeError


class ComputeError(IlforgeError):
    """The compute file is invalid or its cluster cannot be reached."""


#: host names that make a server listen on every network interface
ALL_INTERFACES = {"0.0.0.0", "::", "[::]", "*", ""}


def binds_all_interfaces(address) -> bool:
    """Whether a host or ``host:port`` / ``proto://host:port`` address listens on every interface."""
    text = str(address).strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    if text.startswith("["):
        return text.split("]", 1)[0] + "]" in ALL_INTERFACES
    host = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return host in ALL_INTERFACES or text.startswith(":") and text.count(":") == 1


class TLSSettings(BaseModel):
    """TLS certificates (PEM files) for client, scheduler and workers: distributed's ``Security``
    with ``require_encryption``; the same certificate and key serve every role."""

    model_config = ConfigDict(extra="forbid")

    ca_file: str = Field(description="certificate authority (PEM)")
    cert: str = Field(description="certificate of client, scheduler and workers (PEM)")
    key: str = Field(description="private key of the certificate (PEM)")

    def paths(self) -> dict[str, str]:
        out = {}
        for name in ("ca_file", "cert", "key"):
            p = Path(getattr(self, name)).expanduser()
            if not p.is_file():
                raise ComputeError(f"dask.tls.{name}: file {str(p)!r} not found; give the path of a PEM file")
            out[name] = str(p)
        return out


class DaskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: Literal["local", "address", "slurm", "pbs"] = "local"
    address: str | None = Field(None, description="scheduler address (cluster: address), e.g. tcp://host:8786")
    jobs: int = Field(1, ge=1, description="batch jobs to start (slurm, pbs)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the cluster class")
    host: str | None = Field(None, description="host name or IP the scheduler listens on (slurm/pbs default: "
                             "this machine's hostname; local: 127.0.0.1); never 0.0.0.0")
    interface: str | None = Field(None, description="network interface of scheduler and workers, e.g. ib0")
    dashboard: bool | str = Field(False, description="the dashboard: off (default), true (127.0.0.1:8787) or host:port")
    tls: TLSSettings | None = Field(None, description="TLS certificates (distributed Security)")

    @model_validator(mode="after")
    def _address(self):
        if self.cluster == "address" and not self.address:
            raise ValueError("dask.cluster is 'address': give dask.address, e.g. tcp://host:8786")
        return self

    @model_validator(mode="after")
    def _no_open_binds(self):
        sched = self.options.get("scheduler_options") or {}
        named = {"dask.host": self.host, "dask.options.host": self.options.get("host"),
                 "dask.options.scheduler_options.host": sched.get("host"),
                 "dask.options.dashboard_address": self.options.get("dashboard_address"),
                 "dask.options.scheduler_options.dashboard_address": sched.get("dashboard_address")}
        if isinstance(self.dashboard, str):
            named["dask.dashboard"] = self.dashboard
        for name, value in named.items():
            if value is not None and binds_all_interfaces(value):
                raise ValueError(f"{name}: {value!r} listens on every network interface (anyone on the network could "
                                 "run code as you); name this machine's host name or IP, or an interface (dask.interface)")
        return self


class ComputeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "dask"] = "local"
    workers: int = Field(1, ge=1, description="worker processes (local pool, Dask LocalCluster)")
    threads_per_worker: int = Field(1, ge=1, description="OpenMP/BLAS threads per worker process")
    max_in_flight: int | None = Field(None, ge=1, description="tasks submitted at once (default 2 x workers)")
    dask: DaskSettings = Field(default_factory=DaskSettings)

    @property
    def in_flight(self) -> int:
        return self.max_in_flight or 2 * self.workers


#: a compute file is a few lines; anything larger is not one (and YAML aliases could blow it up)
MAX_COMPUTE_BYTES = 1_000_000


def default_compute() -> ComputeSettings:
    """No compute file and no ``--workers``: a local pool of one single-thread worker. Not one per
    CPU (:func:`local_cpus`), though that halves the demo's labelling time on 2 cores: OpenMM's PME
    gives classical labels that differ by ~1e-6 eV between worker processes, so a parallel default
    made two runs of the same recipe differ; `--workers N` opts in."""
    return ComputeSettings()


def load_compute(path: str | Path | None, workers: int | None = None) -> ComputeSettings:
    """Read ``compute.yaml``; ``workers`` overrides the file. Neither: :func:`default_compute`."""
    if path is None and workers is None:
        return default_compute()
    data: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ComputeError(f"compute file {str(p)!r} not found (see docs/labelling.md for examples)")
        if p.stat().st_size > MAX_COMPUTE_BYTES:
            raise ComputeError(f"{p}: {p.stat().st_size} bytes is too large for a compute file (a few lines of YAML)")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError:
            raise ComputeError(f"{p}: not UTF-8 text (a binary file?); give the compute YAML file "
                               "(see docs/labelling.md)") from None
        except yaml.YAMLError as exc:
            raise ComputeError(f"{p}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ComputeError(f"{p}: must be a mapping (backend:, workers:, dask:)")
    if workers is not None:
        data["workers"] = workers
    try:
        return ComputeSettings.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path or 'compute settings'}: invalid:"]
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg'].removeprefix('Value error, ')}")
        raise ComputeError("\n".join(lines)) from None


def make_executor(settings: ComputeSettings | None = None) -> Executor:
    """The executor of ``settings`` (default: :func:`default_compute`, a local pool of one worker per
    CPU): a :class:`~ilforge.engine.local.LocalPool` or a :class:`~ilforge.engine.dask_cluster.DaskExecutor`."""
    settings = settings or default_compute()
    if settings.backend == "dask":
        from ilforge.engine.dask_cluster import DaskExecutor

        return DaskExecutor(settings)
    from ilforge.engine.local import LocalPool

    return LocalPool(settings.workers, settings.threads_per_worker, settings.in_flight)
