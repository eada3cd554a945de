"""Task program of one MD state point: ``python -m ilforge.md.state_point_task DIR``.

Reads ``DIR/task.json`` and ``DIR/start.extxyz`` (written by
:func:`ilforge.md.state_points.write_state_point_task`), builds the calculator from its dict in
this process, runs :func:`ilforge.md.runner.run_state_point` into ``DIR`` and so writes
``DIR/run.json``. Exit status 0 when the run completed or was stopped by a monitor (the record
says which); an exception is a failed task.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ilforge.engine.task import read_task_json
from ilforge.md.calculators import calculator_from_dict, calculator_identity
from ilforge.md.result import START
from ilforge.md.runner import StatePoint, run_state_point
from ilforge.md.settings import MDSettings


def run_identity(task: dict, start: Path) -> dict:
    """The inputs that make a state-point run what it is: the task (settings, state, seed, calculator)
    without its ``restart`` flag, the SHA-256 of the starting structure and of the model files. A run
    whose saved identity differs is started over instead of resumed (:func:`ilforge.md.runner.run_state_point`)."""
    import hashlib

    return {"task": {k: v for k, v in task.items() if k != "restart"},
            "start_sha256": hashlib.sha256(start.read_bytes()).hexdigest(),
            "calculator": calculator_identity(task["calculator"])}


def main(argv: list[str] | None = None) -> int:
    from ase.io import read

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        logging.getLogger(__name__).error("usage: python -m ilforge.md.state_point_task DIR")
        return 2
    run_dir = Path(argv[0])
    task = read_task_json(run_dir)
    settings = MDSettings.model_validate(task["settings"]).model_copy(update={"seed": int(task["seed"])})
    state = StatePoint(float(task["state"]["temperature_K"]), task["state"].get("pressure_bar"))
    atoms = read(run_dir / START, format="extxyz")
    identity = run_identity(task, run_dir / START)
    run_state_point(atoms, calculator_from_dict(task["calculator"]), settings, run_dir, state,
                    restart=bool(task.get("restart", True)), identity=identity)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
