"""Training as independent tasks: a picklable task, the function that runs it, and the one pool call.

Committees and the transferability study train several models that do not depend on each other.
Each is a :class:`TrainTask`; :func:`run_training_tasks` runs them in this process
(``max_workers=1``, the default on small machines) or in the execution engine's local pool
(:class:`ilforge.engine.local.LocalPool`: spawned workers that share the cores, each with
``cores // workers`` torch/OpenMP threads, and that die with their parent on Ctrl-C or a kill).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ase import Atoms

from ilforge.models.artifact import ModelArtifact

log = logging.getLogger(__name__)


@dataclass
class TrainTask:
    """Everything one training needs; plain data so that it pickles."""

    settings: dict  # TrainingSettings.model_dump()
    train_frames: list[Atoms]
    valid_frames: list[Atoms]
    workdir: str
    isolated_energies: dict[str, float] = field(default_factory=dict)


def train_task(task: TrainTask) -> str:
    """Run one training task; returns the model directory (a string, so the result pickles)."""
    from ilforge.models.base import get_backend
    from ilforge.models.settings import TrainingSettings

    settings = TrainingSettings.model_validate(task.settings)
    artifact = get_backend(settings.backend).train(
        settings, task.train_frames, task.valid_frames, task.workdir, isolated_energies=task.isolated_energies
    )
    return str(artifact.directory)


def threads_per_worker(max_workers: int, cores: int | None = None) -> int:
    """Threads of each of ``max_workers`` training processes so that together they fill the cores."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, max_workers))


def run_training_tasks(tasks: list[TrainTask], max_workers: int = 1, progress=None) -> list[ModelArtifact]:
    """Run ``tasks`` (serially or in a local process pool) and load their artifacts, in task order.

    ``progress``: optional callable ``progress(i_done, n_total, model_dir)`` (the CLI shows a bar).
    """
    dirs: list[str] = []
    if max_workers <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            dirs.append(train_task(t))
            if progress:
                progress(i + 1, len(tasks), dirs[-1])
    else:
        from ilforge.engine.local import LocalPool

        workers = min(max_workers, len(tasks))
        pool = LocalPool(workers=workers, threads_per_worker=threads_per_worker(workers))
        try:
            futures = [pool.submit(train_task, t) for t in tasks]
            for i, fut in enumerate(futures):
                dirs.append(fut.result())
                if progress:
                    progress(i + 1, len(tasks), dirs[-1])
        except BaseException:
            pool.abort()
            raise
        finally:
            pool.close()
    return [ModelArtifact.load(Path(d)) for d in dirs]
