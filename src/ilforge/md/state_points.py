"""Several MD state points, each a file-described task run by an executor.

A state point's run directory is its task directory: :func:`write_state_point_task` puts the
starting structure (``start.extxyz``) and ``task.json`` there::

    {"settings": MDSettings (dict), "state": {"temperature_K": K, "pressure_bar": bar | null},
     "calculator": {"kind": "model" | "named", ...}, "seed": int, "restart": bool}

and ``python -m ilforge.md.state_point_task DIR`` runs it (:mod:`ilforge.md.state_point_task`),
writing ``run.json``. Nothing but file names crosses process boundaries, so any executor
(:class:`~ilforge.engine.base.InlineExecutor`, :class:`~ilforge.engine.local.LocalPool`, Dask)
runs the same task, in this interpreter or another one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from ilforge.engine.base import Executor, InlineExecutor
from ilforge.engine.task import FileTask, TaskOutcome, python_task, run_file_task, write_task_json
from ilforge.errors import IlforgeError
from ilforge.md.result import START, MDResult
from ilforge.md.runner import StatePoint
from ilforge.md.settings import MDSettings

log = logging.getLogger(__name__)

TASK_MODULE = "ilforge.md.state_point_task"


def write_state_point_task(run_dir, atoms, calculator: dict, settings: MDSettings, point: StatePoint, seed: int,
                           restart: bool = True, python: str | None = None) -> FileTask:
    """Write ``start.extxyz`` and ``task.json`` into ``run_dir``; the task that runs them."""
    from ase.io import write

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write(run_dir / START, atoms, format="extxyz")
    write_task_json(run_dir, {
        "settings": settings.model_copy(update={"seed": int(seed)}).model_dump(mode="json"),
        "state": {"temperature_K": point.temperature_K, "pressure_bar": point.pressure_bar},
        "calculator": dict(calculator), "seed": int(seed), "restart": bool(restart),
    })
    return python_task(run_dir, TASK_MODULE, python)


def _result(task: FileTask, outcome: TaskOutcome) -> MDResult:
    if not outcome.ok:
        raise IlforgeError(f"MD state point {task.directory} failed: {outcome.error}")
    res = MDResult.load(task.directory)
    if res is None:
        raise IlforgeError(f"MD state point {task.directory} ended without a run record")
    return res


def run_tasks(tasks: list[FileTask], executor: Executor | None = None,
              on_done: Callable[[int, MDResult], None] | None = None) -> list[MDResult]:
    """Run state-point tasks through ``executor`` (default inline); ``on_done(index, result)`` as each
    finishes. Returns their :class:`MDResult` in order; a failed task (an exception, not a monitor
    stop) raises :class:`IlforgeError`."""

    def done(i: int, outcome: TaskOutcome) -> None:
        if on_done is not None:
            on_done(i, _result(tasks[i], outcome))

    outcomes = (executor or InlineExecutor()).run_all(run_file_task, tasks, done)
    return [_result(t, o) for t, o in zip(tasks, outcomes)]


def run_state_points(box, calculator: dict, settings: MDSettings, outdirs: list, points: list[StatePoint],
                     executor: Executor | None = None, on_done: Callable[[MDResult], None] | None = None,
                     restart: bool = True, seeds: list[int] | None = None) -> list[MDResult]:
    """Run ``points[i]`` from the structure ``box`` (a path, or Atoms) in ``outdirs[i]``.

    ``calculator``: its dict (:mod:`ilforge.md.calculators`). ``seeds[i]``: the seed of point i
    (default ``settings.seed``, else 0). ``executor``: default inline (one after the other, here).
    ``on_done(result)`` as each finishes. Returns the :class:`MDResult` of each point, in order.
    """
    from ase.io import read

    if len(outdirs) != len(points):
        raise IlforgeError(f"{len(points)} state points but {len(outdirs)} output directories")
    atoms = read(box) if isinstance(box, (str, os.PathLike)) else box
    base = 0 if settings.seed is None else settings.seed
    seeds = list(seeds) if seeds is not None else [base] * len(points)
    tasks = [write_state_point_task(d, atoms, calculator, settings, p, s, restart) for d, p, s in zip(outdirs, points, seeds)]
    return run_tasks(tasks, executor, None if on_done is None else (lambda i, r: on_done(r)))
