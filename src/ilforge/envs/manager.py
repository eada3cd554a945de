"""Create, find and list backend environments (virtual environments outside ilforge's own).

``env_dir(spec)`` = ``$ILFORGE_ENVS_DIR`` (default ``~/.cache/ilforge/envs``) / ``<name>-<sha256(requirements)[:10]>``.
:func:`ensure_env` creates it with ``python -m venv``, installs the pinned requirements with the new
environment's own pip (never ilforge's ``.venv``; torch and its index first, :meth:`EnvSpec.install_steps`) and writes ``ready.json`` last: an environment
without the marker (a killed or failed install) is removed and created again, never half used.
Creation holds an exclusive file lock (``<dir>.lock``), so two processes asking at once create it once.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ilforge.envs.spec import SPECS, EnvSpec, get_spec
from ilforge.errors import IlforgeError
from ilforge.jsonio import write_json_atomic

log = logging.getLogger(__name__)

ENVS_DIR_VAR = "ILFORGE_ENVS_DIR"
READY = "ready.json"


class EnvError(IlforgeError):
    """A backend environment cannot be created or is not there."""


def envs_root() -> Path:
    """``$ILFORGE_ENVS_DIR`` or ``~/.cache/ilforge/envs``."""
    return Path(os.environ.get(ENVS_DIR_VAR) or Path.home() / ".cache" / "ilforge" / "envs").expanduser()


def env_dir(spec: EnvSpec | str) -> Path:
    """The folder of an environment (it may not exist yet)."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    return envs_root() / spec.dirname


def is_ready(spec: EnvSpec | str) -> bool:
    """True when the environment was completely created (its ``ready.json`` exists)."""
    return (env_dir(spec) / READY).is_file()


def _python_in(directory: Path) -> Path:
    return directory / "bin" / "python"


@contextlib.contextmanager
def _creation_lock(directory: Path):
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f"{directory.name}.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is creating %s: waiting for it", directory)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, spec: EnvSpec) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise EnvError(f"{what} failed (exit status {proc.returncode}) while creating the {spec.name!r} environment "
                       f"in {env_dir(spec)}:\n{tail}\nFix the cause (network, disk space, Python version) and retry: "
                       f"`ilforge env create {spec.name}`")


def _dir_size_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def ensure_env(spec: EnvSpec | str) -> Path:
    """The environment's folder, created first when it is not ready (see the module docstring)."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    directory = env_dir(spec)
    if (directory / READY).is_file():
        return directory
    python = shutil.which(spec.python) or (sys.executable if spec.python == f"python{sys.version_info[0]}.{sys.version_info[1]}" else None)
    if python is None:
        raise EnvError(f"{spec.python} is not on PATH: the {spec.name!r} environment needs it; install it "
                       f"(e.g. `apt-get install {spec.python}-venv` or pyenv) and retry `ilforge env create {spec.name}`")
    with _creation_lock(directory):
        if (directory / READY).is_file():  # created by the process we waited for
            return directory
        shutil.rmtree(directory, ignore_errors=True)  # a killed or failed install is redone from scratch
        t0 = time.perf_counter()
        log.info("creating the %s environment in %s (%s)", spec.name, directory, ", ".join(spec.requirements))
        _run([python, "-m", "venv", str(directory)], f"{spec.python} -m venv", spec)
        for requirements in spec.install_steps():
            _run([str(_python_in(directory)), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements],
                 "pip install " + " ".join(requirements), spec)
        seconds = time.perf_counter() - t0
        write_json_atomic(directory / READY, {
            "name": spec.name, "requirements": list(spec.requirements), "python": spec.python,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1), "size_bytes": _dir_size_bytes(directory)}, indent=2)
    log.info("created the %s environment in %.0f s", spec.name, seconds)
    return directory


def env_python(name: str, create: bool = True) -> Path:
    """The Python interpreter of backend environment ``name``; created first when ``create`` (else a
    missing environment is an :class:`EnvError` saying how to create it)."""
    spec = get_spec(name)
    if create:
        return _python_in(ensure_env(spec))
    if not is_ready(spec):
        raise EnvError(f"the {name!r} backend environment is not created ({env_dir(spec)}): run `ilforge env create {name}`")
    return _python_in(env_dir(spec))


def list_envs() -> list[dict]:
    """One row per defined environment: ``name``, ``path``, ``ready`` and, when ready, its ``ready.json``."""
    import json

    rows = []
    for name in sorted(SPECS):
        d = env_dir(name)
        row = {"name": name, "path": str(d), "ready": is_ready(name)}
        if row["ready"]:
            row.update({k: v for k, v in json.loads((d / READY).read_text()).items() if k not in row})
        rows.append(row)
    return rows
