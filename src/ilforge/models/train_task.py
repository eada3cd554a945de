"""Training as file-described tasks: one model fit = a directory of files and a command.

A task directory holds ``task.json`` (``{"backend", "settings", "isolated_energies", "model_dir"}``),
``train.extxyz`` and ``valid.extxyz``; ``python -m ilforge.models.train_task DIR`` fits the model
into ``model_dir`` and writes ``result.json`` (``{"model_dir": ...}``). Nothing else is shared with
the process that made the task, so it can run in a spawned worker, on another node or (a backend in
its own environment) with another Python interpreter.

Committees, the transferability study and learning curves train several independent models:
:func:`run_training_tasks` runs them in this process (``workers=1``) or in the engine's
:class:`~ilforge.engine.local.LocalPool` (spawned workers that share the cores, each with
``cores // workers`` torch/OpenMP threads, and that die with their parent; :func:`ilforge.engine.local.local_executor`). Task directories live in
``<model_dir>/_task`` and are removed once the model is trained; a failed one stays for inspection.
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms

from ilforge.engine.local import local_executor
from ilforge.engine.task import python_task, read_result_json, read_task_json, run_file_task, write_result_json, write_task_json
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact
from ilforge.models.data import read_frames_file, write_frames
from ilforge.models.registry import get_backend
from ilforge.models.settings import TrainingSettings

log = logging.getLogger(__name__)

MODULE = "ilforge.models.train_task"
TASK_DIR = "_task"
TRAIN_FILE = "train.extxyz"
VALID_FILE = "valid.extxyz"


@dataclass
class TrainTask:
    """One model fit before it is written to files."""

    settings: TrainingSettings
    train_frames: list[Atoms]
    valid_frames: list[Atoms]
    model_dir: str
    isolated_energies: dict[str, float] | None = None

    @property
    def task_dir(self) -> Path:
        return Path(self.model_dir) / TASK_DIR


def write_training_task(task: TrainTask, python: str | None = None):
    """Write the task's files and return its :class:`~ilforge.engine.task.FileTask`."""
    d = task.task_dir
    d.mkdir(parents=True, exist_ok=True)
    write_frames(d / TRAIN_FILE, task.train_frames)
    if task.valid_frames:
        write_frames(d / VALID_FILE, task.valid_frames)
    write_task_json(d, {
        "backend": task.settings.backend,
        "settings": task.settings.model_dump(mode="json"),
        "isolated_energies": dict(task.isolated_energies or {}),
        "model_dir": str(Path(task.model_dir).resolve()),
    })
    return python_task(d, MODULE, python)


def task_train_frames(task: TrainTask) -> list[Atoms]:
    """The training frames as the task's program reads them (after the extxyz round trip)."""
    return read_frames_file(task.task_dir / TRAIN_FILE)


def main(argv: list[str]) -> int:
    """``python -m ilforge.models.train_task DIR``: fit the model of ``DIR/task.json``."""
    d = Path(argv[0])
    doc = read_task_json(d)
    backend = get_backend(doc["backend"])
    settings = backend.settings_class.model_validate(doc["settings"])
    valid = read_frames_file(d / VALID_FILE) if (d / VALID_FILE).is_file() else []
    art = backend.train(settings, read_frames_file(d / TRAIN_FILE), valid, doc["model_dir"],
                        isolated_energies=doc.get("isolated_energies") or None)
    write_result_json(d, {"model_dir": str(art.directory)})
    return 0


def run_training_tasks(tasks: list[TrainTask], workers: int = 1, progress=None) -> list[ModelArtifact]:
    """Write ``tasks`` as files, run them (in this process, or ``workers`` spawned processes) and load
    their artifacts, in task order. A failed task is an :class:`IlforgeError` naming it and why.

    ``progress``: optional callable ``progress(i_done, n_total, model_dir)`` (the CLI shows a bar).
    """
    file_tasks = [write_training_task(t) for t in tasks]
    executor = local_executor(min(int(workers), len(tasks)))
    done = [0]

    def on_done(i, outcome):
        done[0] += 1
        if progress and outcome.ok:
            progress(done[0], len(tasks), tasks[i].model_dir)

    with executor:
        outcomes = executor.run_all(run_file_task, file_tasks, on_done)
    failed = [(t, o) for t, o in zip(tasks, outcomes) if not o.ok]
    if failed:
        t, o = failed[0]
        raise IlforgeError(f"training {t.model_dir} failed ({len(failed)} of {len(tasks)} task(s) failed): {o.error}; "
                           f"task files kept in {t.task_dir}")
    artifacts = [ModelArtifact.load(read_result_json(t.task_dir)["model_dir"]) for t in tasks]
    for t in tasks:
        shutil.rmtree(t.task_dir, ignore_errors=True)
    return artifacts


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
