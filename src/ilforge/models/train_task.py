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

Progress (:class:`_EpochWatch`): a thread of the process that waits for the tasks polls, every two
seconds, the per-epoch log each backend appends while it trains (the backend class's
``epoch_log(model_dir, since)``, e.g. a reader of the metrics file the backend's trainer appends
to), so the same works for a fit in this process, in a
spawned worker or in another environment: epochs done / total over all models, models done / total,
and the current model's epoch and validation errors.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms

from ilforge.engine.local import local_executor
from ilforge.engine.task import python_task, read_result_json, read_task_json, run_file_task, write_result_json, write_task_json
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact
from ilforge.models.data import read_frames_file, write_frames
from ilforge.models.registry import backend_class, get_backend
from ilforge.models.settings import TrainingSettings
from ilforge.progress import Progress

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
    shutil.rmtree(d, ignore_errors=True)  # a killed run's files (an old result.json would mark it done)
    d.mkdir(parents=True)
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


def _epoch_log(task: TrainTask, since: float):
    """The per-epoch log of ``task``'s backend while it trains: the backend class's optional
    ``epoch_log(model_dir, since)`` (an object whose ``poll()`` returns ``{"epochs_done", ...}`` or None),
    or None for a backend without one (its models then count only when they finish)."""
    factory = getattr(backend_class(task.settings.backend), "epoch_log", None)
    return factory(task.model_dir, since) if factory is not None else None


class _EpochWatch:
    """Reports training progress to ``progress`` (see the module docstring): its total is the sum of the
    tasks' ``max_epochs`` (plus ``reused`` finished models of ``reused_epochs`` each); a finished model
    counts all its epochs (also one stopped early by patience). Thread-safe: the polling thread and the
    thread that collects finished tasks both report through :meth:`_report` under one lock."""

    def __init__(self, tasks: list[TrainTask], progress: Progress, reused: int = 0, reused_epochs: int = 0,
                 interval_s: float = 2.0):
        since = time.time()
        self.names = [Path(t.model_dir).name for t in tasks]
        self.max_epochs = [int(t.settings.max_epochs) for t in tasks]
        self.logs = [_epoch_log(t, since) for t in tasks]
        self.epochs, self.finished = [0] * len(tasks), [False] * len(tasks)
        self.latest: dict[int, dict] = {}
        self.progress, self.reused, self.interval_s = progress, reused, interval_s
        self.base = reused * reused_epochs
        self.lock, self.stop = threading.Lock(), threading.Event()
        progress.start(self.base + sum(self.max_epochs), done=self.base)
        self.thread = threading.Thread(target=self._loop, name="ilforge-train-progress", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> None:
        with self.lock:
            for i, elog in enumerate(self.logs):
                doc = elog.poll() if elog is not None and not self.finished[i] else None
                if doc is not None:
                    self.epochs[i] = min(doc["epochs_done"], self.max_epochs[i])
                    self.latest[i] = doc
            self._report()

    def task_done(self, i: int) -> None:
        with self.lock:
            self.finished[i], self.epochs[i] = True, self.max_epochs[i]
            self._report()

    def _report(self) -> None:
        n_done = self.reused + sum(self.finished)
        latest = {"models": f"{n_done}/{self.reused + len(self.names)}"}
        running = [i for i in range(len(self.names)) if not self.finished[i]]
        # the model training now (the first with an epoch logged), else the last one that logged one
        current = next((i for i in running if i in self.latest), running[0] if running else None)
        if current is None and self.latest:
            current = max(self.latest)
        if current is not None:
            doc = self.latest.get(current, {})
            latest.update(model=self.names[current], epoch=f"{self.epochs[current]}/{self.max_epochs[current]}")
            latest.update({k: doc[k] for k in ("E_rmse_meV_atom", "F_rmse_meV_A") if k in doc})
        self.progress.latest.clear()  # the previous model's errors are not this one's
        self.progress.set(self.base + sum(self.epochs), **latest)


def run_training_tasks(tasks: list[TrainTask], workers: int = 1, progress: Progress | None = None,
                       reused: int = 0) -> list[ModelArtifact]:
    """Write ``tasks`` as files, run them (in this process, or ``workers`` spawned processes) and load
    their artifacts, in task order. A failed task is an :class:`IlforgeError` naming it and why.

    ``progress``: reports epochs done / total of all tasks while they train (:class:`_EpochWatch`);
    ``reused``: models already trained before (a transferability study reusing some), counted as done.
    """
    file_tasks = [write_training_task(t) for t in tasks]
    executor = local_executor(min(int(workers), len(tasks)))
    reused_epochs = int(tasks[0].settings.max_epochs) if tasks else 0
    watch = _EpochWatch(tasks, progress, reused, reused_epochs) if progress is not None else None

    def on_done(i, outcome):
        if watch is not None and outcome.ok:
            watch.task_done(i)

    with executor, (watch or contextlib.nullcontext()):
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
