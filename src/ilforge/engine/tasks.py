"""One labelling task, as it runs inside a worker process (local pool or Dask worker).

A task is (labeler spec, task string, frame). The spec is small and picklable: the worker builds
the labeler once and reuses it for every later task (a CP2K shell stays up). The task string is
``single_point`` or a strategy job ``reference_md:{json}`` / ``relax:{json}`` (see
:mod:`ilforge.reference.strategies`). Failures come back as results, never as exceptions, so the
runner can record them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

from ilforge.store.frames import SINGLE_POINT

_LABELERS: dict = {}


@dataclass(frozen=True)
class LabelerSpec:
    """How to build the labeler in a worker: the recipe's ``labels`` section as JSON, and the
    recipe path / workdir for labelers that need them (the classical force field)."""

    settings_json: str
    recipe_path: str | None = None
    workdir: str | None = None


@dataclass
class TaskResult:
    ok: bool
    labels: object | None = None  # Labels for single points
    frames: list = field(default_factory=list)  # [(Atoms, Labels)] for strategy jobs
    reason: str = ""
    retryable: bool = True
    seconds: float = 0.0
    worker: dict = field(default_factory=dict)  # pid, OMP_NUM_THREADS of the worker


def task_string(kind: str, params: dict) -> str:
    """``kind:{canonical json}``; the store keys strategy jobs by this string."""
    return f"{kind}:{json.dumps(params, sort_keys=True, separators=(',', ':'))}"


def parse_task(task: str) -> tuple[str, dict]:
    if task == SINGLE_POINT:
        return SINGLE_POINT, {}
    kind, _, params = task.partition(":")
    return kind, json.loads(params)


def get_labeler(spec: LabelerSpec):
    """The labeler of ``spec``, built once per process."""
    lab = _LABELERS.get(spec)
    if lab is None:
        from ilforge.reference.registry import labeler_class, make_labeler
        from ilforge.reference.settings import LabelSettings

        settings = LabelSettings.model_validate_json(spec.settings_json)
        recipe = None
        if spec.recipe_path and hasattr(labeler_class(settings.labeler), "from_settings"):
            from ilforge.recipe import load_recipe

            recipe = load_recipe(spec.recipe_path)
        lab = make_labeler(settings, recipe, spec.workdir)
        _LABELERS[spec] = lab
    return lab


def run_task(spec: LabelerSpec, task: str, atoms) -> TaskResult:
    """Label ``atoms`` (single point) or run a strategy job from it; never raises for a failed label.
    ``result.worker`` records the worker's pid, OMP_NUM_THREADS and thread count after the task."""
    t0 = time.perf_counter()
    worker = {"pid": os.getpid(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    try:
        return _run(spec, task, atoms, worker, t0)
    finally:
        worker["threads"] = _thread_count()


def _thread_count() -> int | None:
    """Threads of this process now (Linux /proc), to check the OpenMP/BLAS limits took effect."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _run(spec: LabelerSpec, task: str, atoms, worker: dict, t0: float) -> TaskResult:
    from ilforge.reference import strategies
    from ilforge.reference.base import LabelError

    try:
        labeler = get_labeler(spec)
        kind, params = parse_task(task)
        if kind == SINGLE_POINT:
            labels = labeler.label(atoms)
            return TaskResult(True, labels=labels, seconds=time.perf_counter() - t0, worker=worker)
        if kind == "reference_md":
            frames = strategies.reference_md(atoms, labeler, **params)
        elif kind == "relax":
            frames = strategies.relax(atoms, labeler, **params)
        else:
            return TaskResult(False, reason=f"unknown task kind {kind!r}", retryable=False, worker=worker)
        return TaskResult(True, frames=frames, seconds=time.perf_counter() - t0, worker=worker)
    except LabelError as exc:
        return TaskResult(False, reason=exc.reason, retryable=exc.retryable, seconds=time.perf_counter() - t0,
                          worker=worker)
    except Exception as exc:  # a crash inside a labeler is recorded as a failure of this frame
        return TaskResult(False, reason=f"{type(exc).__name__}: {exc}", retryable=True,
                          seconds=time.perf_counter() - t0, worker=worker)
