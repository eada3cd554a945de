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


class DaskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: Literal["local", "address", "slurm", "pbs"] = "local"
    address: str | None = Field(None, description="scheduler address (cluster: address), e.g. tcp://host:8786")
    jobs: int = Field(1, ge=1, description="batch jobs to start (slurm, pbs)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the cluster class")

    @model_validator(mode="after")
    def _address(self):
        if self.cluster == "address" and not self.address:
            raise ValueError("dask.cluster is 'address': give dask.address, e.g. tcp://host:8786")
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


def load_compute(path: str | Path | None, workers: int | None = None) -> ComputeSettings:
    """Read ``compute.yaml`` (or the defaults when ``path`` is None); ``workers`` overrides the file."""
    data: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ComputeError(f"compute file {str(p)!r} not found (see docs/labelling.md for examples)")
        try:
            data = yaml.safe_load(p.read_text()) or {}
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
    """The executor of ``settings`` (defaults: a local pool of one worker): a
    :class:`~ilforge.engine.local.LocalPool` or a :class:`~ilforge.engine.dask_cluster.DaskExecutor`."""
    settings = settings or ComputeSettings()
    if settings.backend == "dask":
        from ilforge.engine.dask_cluster import DaskExecutor

        return DaskExecutor(settings)
    from ilforge.engine.local import LocalPool

    return LocalPool(settings.workers, settings.threads_per_worker, settings.in_flight)
