"""What every worker script shares (imported by its sibling scripts, which run by path in a backend
environment: only the standard library and numpy here, never ilforge).

- :func:`write_result`: ``result.json`` written atomically (a killed worker leaves none);
- :func:`save_predictions`: ``predictions.npz`` with ``energy`` (F,) eV, ``forces`` (Σn, 3) eV/Å,
  ``stress`` (F, 6) eV/Å³ Voigt (NaN for a frame without a periodic cell) and ``natoms`` (F,), the
  layout :func:`ilforge.models.env_backend.predict_in_env` reads;
- :func:`md_speed`: the ``speed`` mode's measurement (the backend's calculator in this process);
  :func:`speed_of` and :func:`serve_socket`: the ``speed`` and ``client`` modes given the backend's calculator;
- :func:`main`: ``python WORKER.py DIR`` runs ``MODES[task["mode"]]`` on ``DIR/task.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

PREDICTIONS = "predictions.npz"


def write_result(directory: Path, doc: dict) -> None:
    tmp = directory / ".result.json.tmp"
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, directory / "result.json")


def save_predictions(directory: Path, frames: list, results: list) -> str:
    """Write ``results`` (per frame: energy, forces (n, 3), stress (6,) or None) to ``predictions.npz``."""
    nan6 = np.full(6, np.nan)
    np.savez(directory / PREDICTIONS, energy=np.array([r[0] for r in results]),
             forces=np.concatenate([r[1] for r in results]) if results else np.zeros((0, 3)),
             stress=np.array([nan6 if r[2] is None else r[2] for r in results]).reshape(-1, 6),
             natoms=np.array([len(a) for a in frames], dtype=int))
    return PREDICTIONS


def md_speed(atoms, calc, steps: int) -> dict:
    """Seconds per step of velocity-Verlet MD (1 fs, 300 K Maxwell-Boltzmann start, energy + forces
    + stress for a periodic cell each step) of ``atoms`` with ``calc`` in this process, after 2
    warm-up steps: the code's native path, without ilforge's runner or socket."""
    import time

    from ase import units
    from ase.md.velocitydistribution import thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    atoms.calc = calc
    thermalize_momenta(atoms, temperature_K=300.0, rng=np.random.default_rng(0))
    md = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    if atoms.pbc.all():
        md.attach(lambda: atoms.get_stress(), interval=1)
    md.run(2)
    t0 = time.perf_counter()
    md.run(int(steps))
    seconds = time.perf_counter() - t0
    return {"n_atoms": len(atoms), "steps": int(steps), "s_per_step": seconds / int(steps),
            "atom_steps_per_s": len(atoms) * int(steps) / seconds}


def speed_of(task: dict, directory: Path, calc) -> dict:
    """The ``speed`` mode: :func:`md_speed` of ``DIR/task["atoms"]`` with ``calc`` for ``task["steps"]`` (20) steps."""
    import ase.io

    return md_speed(ase.io.read(directory / task["atoms"]), calc, int(task.get("steps", 20)))


def serve_socket(task: dict, directory: Path, calc) -> dict:
    """The ``client`` mode: ``calc`` on ``DIR/task["atoms"]`` answers ilforge's i-PI socket server at
    ``task["unixsocket"]`` (energy, forces and, for a periodic cell, the virial) until it closes."""
    import ase.io
    from ase.calculators.socketio import SocketClient

    atoms = ase.io.read(directory / task["atoms"])
    atoms.calc = calc
    SocketClient(unixsocket=task["unixsocket"]).run(atoms, use_stress=bool(atoms.pbc.all()))
    return {"closed": True}


def main(modes: dict, argv: list[str]) -> int:
    directory = Path(argv[0]).resolve()
    task = json.loads((directory / "task.json").read_text())
    write_result(directory, modes[task["mode"]](task, directory))
    return 0
