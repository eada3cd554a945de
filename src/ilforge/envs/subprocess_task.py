"""Run a worker script in a backend environment on a directory of files.

``run_in_env(name, script, task, workdir)`` writes ``workdir/task.json``, runs
``<env python> <script> <workdir>`` (argument list, no shell; output in ``workdir/task.log``) and
returns ``workdir/result.json``, which the worker writes last. A worker may import only the standard
library, numpy, ASE and the backend's packages (not ilforge): the environment does not have ilforge.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from ilforge.engine.task import LOG, RESULT_JSON, read_result_json, write_task_json
from ilforge.envs.manager import env_python
from ilforge.errors import IlforgeError

log = logging.getLogger(__name__)

WORKERS_DIR = Path(__file__).resolve().parent / "workers"
#: environment variables of ilforge's interpreter that must not leak into another environment's
_DROP_VARS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


class WorkerError(IlforgeError):
    """A worker in a backend environment failed; the message has the tail of its log."""


def worker_path(script: str | Path) -> Path:
    """A worker script: a path, or the name of one in ``ilforge/envs/workers`` (``deepmd_worker``)."""
    path = Path(script)
    if path.suffix != ".py":
        path = WORKERS_DIR / f"{script}.py"
    if not path.is_file():
        raise IlforgeError(f"worker script {path} not found")
    return path


def worker_environ(threads: int | None = None) -> dict[str, str]:
    """This process's environment without ilforge's interpreter settings; TensorFlow's info logs off;
    ``threads`` (OpenMP/TensorFlow thread counts) when given."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_VARS}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if threads:
        for var in ("OMP_NUM_THREADS", "DP_INTRA_OP_PARALLELISM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS"):
            env[var] = str(threads)
        env.setdefault("DP_INTER_OP_PARALLELISM_THREADS", "1")
    return env


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_in_env(name: str, script: str | Path, task: dict, workdir: str | Path, threads: int | None = None) -> dict:
    """Run ``script`` with backend environment ``name``'s Python on ``workdir`` (see the module docstring).

    The environment is created first if needed. A worker that exits non-zero or writes no
    ``result.json`` raises :class:`WorkerError` with its log's tail and the log's path.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / RESULT_JSON).unlink(missing_ok=True)
    write_task_json(workdir, task)
    python = env_python(name)
    cmd = [str(python), str(worker_path(script)), str(workdir)]
    log.debug("running %s", cmd)
    with open(workdir / LOG, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=workdir, env=worker_environ(threads), check=False)
    result = read_result_json(workdir)
    if proc.returncode != 0 or result is None:
        raise WorkerError(f"the {name} worker {Path(cmd[1]).name} failed on {workdir} (exit status {proc.returncode}); "
                          f"last lines of {workdir / LOG}:\n{log_tail(workdir / LOG)}")
    return result
