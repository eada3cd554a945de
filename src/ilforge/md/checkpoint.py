"""Checkpoints of an MD run: positions, momenta, cell and the integrator's internal state.

The checkpoint is an extxyz file (8 decimals) with ``md_step`` and ``integrator_state`` (JSON) in
its info, replaced atomically. With the integrator state a resumed run continues the interrupted
one exactly (to the file's precision): Nose-Hoover chain positions η and momenta p_η
(``NoseHooverChainNVT`` and the particle thermostat of ``IsotropicMTKNPT``), the MTK barostat's
volume momentum p_ε and its chain ξ, p_ξ (the volume itself is the checkpoint's cell: a new
integrator starts at ε = 0 there), and the random stream of Langevin.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ilforge.md.result import CHECKPOINT

MD_STEP = "md_step"  # info, int: the MD step of the checkpoint
INTEGRATOR_STATE = "integrator_state"  # info, str (JSON): see integrator_state()


def integrator_state(dyn, rng) -> dict:
    """The variables beyond positions, momenta and cell that the integrator carries from step to step
    (see the module docstring); JSON-serialisable."""
    st: dict = {"rng": rng.bit_generator.state}
    th = getattr(dyn, "_thermostat", None)
    if th is not None:
        st["eta"], st["p_eta"] = th._eta.tolist(), th._p_eta.tolist()
    ba = getattr(dyn, "_barostat", None)
    if ba is not None:
        st["xi"], st["p_xi"] = ba._xi.tolist(), ba._p_xi.tolist()
        st["p_eps"] = float(dyn._p_eps)
    return st


def restore_integrator_state(dyn, rng, st: dict) -> None:
    """Put back what :func:`integrator_state` saved (on a new integrator at the checkpoint's cell)."""
    rng.bit_generator.state = st["rng"]
    th = getattr(dyn, "_thermostat", None)
    if th is not None and "eta" in st:
        th._eta[:], th._p_eta[:] = st["eta"], st["p_eta"]
    ba = getattr(dyn, "_barostat", None)
    if ba is not None and "xi" in st:
        ba._xi[:], ba._p_xi[:] = st["xi"], st["p_xi"]
        dyn._p_eps = st["p_eps"]


def write_checkpoint(atoms, step: int, outdir: str | Path, state: dict | None = None) -> None:
    """Write ``outdir/checkpoint.extxyz`` (through a temporary file and a rename)."""
    from ase.io import write

    outdir = Path(outdir)
    a = atoms.copy()
    a.calc = None
    a.info[MD_STEP] = int(step)
    if state is not None:
        a.info[INTEGRATOR_STATE] = json.dumps(state)
    tmp = outdir / (CHECKPOINT + ".tmp")
    write(tmp, a, format="extxyz")
    os.replace(tmp, outdir / CHECKPOINT)


def read_checkpoint(outdir: str | Path):
    """(atoms, step, integrator state or None) of ``outdir/checkpoint.extxyz``."""
    from ase.io import read

    a = read(Path(outdir) / CHECKPOINT, format="extxyz")
    st = a.info.get(INTEGRATOR_STATE)
    return a, int(a.info[MD_STEP]), (json.loads(st) if isinstance(st, str) else None)


def has_checkpoint(outdir: str | Path) -> bool:
    return (Path(outdir) / CHECKPOINT).is_file()
