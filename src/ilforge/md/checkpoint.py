"""Checkpoints of an MD run: positions, momenta, cell, the integrator's internal state and the frame counts.

The checkpoint ``checkpoint.npz`` (numpy, float64 bit for bit, replaced atomically) holds

    numbers (N,)  positions (N, 3) Å  momenta (N, 3) amu·Å/(ASE time)  cell (3, 3) Å  pbc (3,)
    step          the MD step of the checkpoint
    frames        JSON {"equilibration": n, "production": n}: frames in each H5MD file at that step
                  (the writer flushes them before the checkpoint is written)
    state         JSON, see :func:`integrator_state`

With these a resumed run continues the interrupted one bit for bit: the H5MD files are cut back to
the recorded frame counts (frames written after the checkpoint are rewritten, none is lost or
doubled), the random stream (Langevin) continues where it was, and within a segment the
integrator's variables are put back: Nose-Hoover chain positions η and momenta p_η
(``NoseHooverChainNVT`` and the particle thermostat of ``IsotropicMTKNPT``), the MTK barostat's
chain ξ, p_ξ, the volume momentum p_ε, the strain ε and the reference cell h₀ with V₀ (the cell
is h = h₀ exp(ε): Martyna, Tobias, Klein, J. Chem. Phys. 101, 4177 (1994)).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ilforge.errors import CorruptFileError
from ilforge.md.result import CHECKPOINT, EQUILIBRATION, PRODUCTION

FORMAT = 1


def integrator_state(dyn, rng) -> dict:
    """The variables beyond positions, momenta and cell that the integrator carries from step to step
    (see the module docstring); JSON-serialisable, floats exact (``repr`` round trip)."""
    st: dict = {"rng": rng.bit_generator.state}
    th = getattr(dyn, "_thermostat", None)
    if th is not None:
        st["eta"], st["p_eta"] = th._eta.tolist(), th._p_eta.tolist()
    ba = getattr(dyn, "_barostat", None)
    if ba is not None:
        st["xi"], st["p_xi"] = ba._xi.tolist(), ba._p_xi.tolist()
        st["p_eps"], st["eps"] = float(dyn._p_eps), float(dyn._eps)
        st["cell0"], st["volume0"] = np.asarray(dyn._cell0).tolist(), float(dyn._volume0)
    return st


def restore_rng(rng, st: dict) -> None:
    """Put the random stream back where the checkpoint left it."""
    rng.bit_generator.state = st["rng"]


def restore_integrator_state(dyn, st: dict) -> None:
    """Put back what :func:`integrator_state` saved into a new integrator of the same segment."""
    th = getattr(dyn, "_thermostat", None)
    if th is not None and "eta" in st:
        th._eta[:], th._p_eta[:] = st["eta"], st["p_eta"]
    ba = getattr(dyn, "_barostat", None)
    if ba is not None and "xi" in st:
        ba._xi[:], ba._p_xi[:] = st["xi"], st["p_xi"]
        dyn._p_eps = st["p_eps"]
        if "eps" in st:
            dyn._eps, dyn._volume0 = st["eps"], st["volume0"]
            dyn._cell0 = np.array(st["cell0"], dtype=float)


def write_checkpoint(atoms, step: int, outdir: str | Path, state: dict | None = None, frames: dict | None = None) -> None:
    """Write ``outdir/checkpoint.npz`` (through a temporary file and a rename)."""
    outdir = Path(outdir)
    tmp = outdir / (CHECKPOINT + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, format=np.int64(FORMAT), step=np.int64(step), numbers=atoms.numbers, positions=atoms.positions,
                 momenta=atoms.get_momenta(), cell=atoms.cell.array, pbc=atoms.pbc,
                 frames=np.array(json.dumps(frames or {})), state=np.array(json.dumps(state or {})))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, outdir / CHECKPOINT)


def read_checkpoint(outdir: str | Path) -> dict:
    """The checkpoint of ``outdir``: {step, numbers, positions, momenta, cell, pbc, frames, state};
    an unreadable file is a :class:`~ilforge.errors.CorruptFileError` naming what to delete."""
    path = Path(outdir) / CHECKPOINT
    try:
        with np.load(path, allow_pickle=False) as z:
            ck = {k: z[k] for k in ("numbers", "positions", "momenta", "cell", "pbc")}
            ck["step"] = int(z["step"])
            ck["frames"] = json.loads(str(z["frames"]))
            ck["state"] = json.loads(str(z["state"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        names = ", ".join(str(Path(outdir) / n) for n in (CHECKPOINT, EQUILIBRATION, PRODUCTION))
        raise CorruptFileError(f"MD checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {exc}). To start this "
                               f"state point over, delete {names} (or run `ilforge md --no-restart`)") from None
    for k in ("positions", "momenta", "cell"):
        if not np.all(np.isfinite(ck[k])):
            raise CorruptFileError(f"MD checkpoint {path} holds non-finite {k}; delete it (or run `ilforge md --no-restart`) "
                                   "to start this state point over")
    return ck


def has_checkpoint(outdir: str | Path) -> bool:
    return (Path(outdir) / CHECKPOINT).is_file()


def remove_checkpoint(outdir: str | Path) -> None:
    """Delete a checkpoint (a run started over must not resume from the previous one's)."""
    (Path(outdir) / CHECKPOINT).unlink(missing_ok=True)
