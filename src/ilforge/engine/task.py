"""File-described tasks: a directory of inputs and a command, run by any executor.

A :class:`FileTask` is plain data: a directory holding the task's inputs (extxyz frames, a JSON
settings file) where its outputs are written, and a command (argv). Nothing is pickled but those
strings, so the same task runs in a local pool, on a Dask worker on another node (with a shared
file system) or with another Python interpreter (a backend's own virtual environment).

Task programs are Python modules run as ``python -m MODULE DIR``; each defines
``main(argv) -> int``. When the command's interpreter is the worker's own, :func:`run_file_task`
calls ``MODULE.main([DIR])`` in the worker process instead of starting a new interpreter: the
result is the same, and per-process state (a labeler built once, a CP2K shell kept up) survives
from one task to the next. Any other command runs as a subprocess with an argument list (never a
shell string); its output goes to ``DIR/task.log``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ilforge.errors import IlforgeError
from ilforge.jsonio import write_json_atomic

log = logging.getLogger(__name__)

TASK_JSON = "task.json"
RESULT_JSON = "result.json"
LOG = "task.log"


@dataclass(frozen=True)
class FileTask:
    """``command`` (argv) run on the files in ``directory``."""

    directory: str
    command: tuple[str, ...]

    @property
    def path(self) -> Path:
        return Path(self.directory)


@dataclass
class TaskOutcome:
    """How a task's process ended: ``ok`` (exit status 0), ``returncode``, seconds, the tail of its
    log when it failed, and the worker's pid / thread settings (to check OpenMP limits took)."""

    ok: bool
    returncode: int
    seconds: float
    error: str = ""
    worker: dict = field(default_factory=dict)


def python_task(directory: str | Path, module: str, python: str | None = None) -> FileTask:
    """A task run by ``python -m module directory`` (``python``: this interpreter by default)."""
    return FileTask(str(directory), (python or sys.executable, "-m", module, str(directory)))


def write_task_json(directory: str | Path, doc: dict) -> Path:
    """Write the task's settings (``DIR/task.json``), creating the directory."""
    return write_json_atomic(Path(directory) / TASK_JSON, doc)


def read_task_json(directory: str | Path) -> dict:
    """The task's settings; a missing or corrupt ``task.json`` is an :class:`IlforgeError` naming it."""
    p = Path(directory) / TASK_JSON
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise IlforgeError(f"{p} not found: {directory} is not a task directory") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise IlforgeError(f"{p} is corrupt ({exc}); remove {directory} and run the stage again") from None
    if not isinstance(doc, dict):
        raise IlforgeError(f"{p} is corrupt (not a JSON object); remove {directory} and run the stage again")
    return doc


def write_result_json(directory: str | Path, doc: dict) -> Path:
    """Write the task's result (``DIR/result.json``) atomically; written last, it marks the task done."""
    return write_json_atomic(Path(directory) / RESULT_JSON, doc)


def read_result_json(directory: str | Path) -> dict | None:
    """The task's result, or None when it wrote none; a corrupt one counts as none (the task runs again)."""
    p = Path(directory) / RESULT_JSON
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("%s is corrupt (%s): the task counts as not finished", p, exc)
        return None
    return doc if isinstance(doc, dict) else None


def _in_process_module(command: tuple[str, ...]) -> str | None:
    """The module of ``python -m MODULE DIR`` when ``python`` is this interpreter, else None."""
    if len(command) == 4 and command[1] == "-m" and os.path.realpath(command[0]) == os.path.realpath(sys.executable):
        return command[2]
    return None


def run_file_task(task: FileTask) -> TaskOutcome:
    """Run ``task`` (in this process when possible, see the module docstring); never raises for a
    failing task: a non-zero exit or an exception becomes ``ok=False`` with the reason."""
    t0 = time.perf_counter()
    worker = {"pid": os.getpid(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    module = _in_process_module(task.command)
    try:
        if module is not None:
            rc = int(importlib.import_module(module).main([task.command[3]]) or 0)
            err = "" if rc == 0 else f"{module} exited with status {rc}"
        else:
            rc, err = _subprocess(task)
    except Exception as exc:  # noqa: BLE001 - reported as the task's failure
        rc, err = 1, f"{type(exc).__name__}: {exc}"
    worker["threads"] = _thread_count()
    return TaskOutcome(rc == 0, rc, time.perf_counter() - t0, err, worker)


def _subprocess(task: FileTask) -> tuple[int, str]:
    log_path = task.path / LOG
    with open(log_path, "w") as log:
        proc = subprocess.run(list(task.command), stdout=log, stderr=subprocess.STDOUT, cwd=task.directory, check=False)
    if proc.returncode == 0:
        return 0, ""
    tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
    return proc.returncode, f"{task.command[0]} exited with status {proc.returncode}: " + " | ".join(tail)


def _thread_count() -> int | None:
    """Threads of this process now (Linux /proc), to check the OpenMP/BLAS limits took effect."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
