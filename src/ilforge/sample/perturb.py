"""Perturbed copies of frames: rattles and isotropic volume scans (the one implementation).

Both give the reference method configurations away from the classical force field's
equilibrium - the papers' recipe for better training data (forces far from zero, stresses at
compressed and expanded volumes). The geometry lives in :func:`rattled_positions` and
:func:`scaled_geometry`; :func:`rattle` / :func:`volume_scan` wrap them into copies of a frame
(the sampler's perturbations), and :mod:`ilforge.reference.strategies` into derived frames that
remember their parent (the labelling strategies).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge import keys


def rattled_positions(positions: np.ndarray, stdev_A: float, rng: np.random.Generator) -> np.ndarray:
    """``positions`` (n, 3) Å with every coordinate displaced by an independent N(0, stdev_A²) draw
    from ``rng`` (one (n, 3) draw per call)."""
    positions = np.asarray(positions, dtype=float)
    return positions + rng.normal(0.0, stdev_A, size=positions.shape)


def scaled_geometry(atoms: Atoms, percent: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n, 3) Å and cell (3, 3) Å of ``atoms`` scaled isotropically to the volume
    V' = V (1 + percent/100).

    Linear scale factor s = (1 + percent/100)^(1/3); the cell becomes s·cell. With a ``mol_id``
    array the molecules move rigidly: each centre of mass c = Σ m_i r_i / Σ m_i goes to s·c and
    the internal geometry (bond lengths, angles) is unchanged; without it every atom is scaled.
    """
    if percent <= -100:
        raise ValueError(f"volume change must be > -100 %, got {percent}")
    s = (1.0 + percent / 100.0) ** (1.0 / 3.0)
    pos = atoms.positions.copy()
    if keys.MOL_ID in atoms.arrays:
        masses = atoms.get_masses()
        mol = np.asarray(atoms.arrays[keys.MOL_ID])
        for m in np.unique(mol):
            idx = mol == m
            com = masses[idx] @ pos[idx] / masses[idx].sum()
            pos[idx] += (s - 1.0) * com
    else:
        pos *= s
    return pos, atoms.cell[:] * s


def rattle(atoms: Atoms, stdev_A: float, seed: int | np.random.Generator) -> Atoms:
    """Copy of ``atoms`` with every atom displaced by an isotropic Gaussian of standard deviation
    ``stdev_A`` (Å); ``seed`` is an int or a numpy Generator. Info: config_type ``rattle``,
    ``rattle_stdev_A``."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = atoms.copy()
    out.positions = rattled_positions(atoms.positions, stdev_A, rng)
    out.info[keys.CONFIG_TYPE] = keys.CT_RATTLE
    out.info["rattle_stdev_A"] = float(stdev_A)
    return out


def volume_scan(atoms: Atoms, percent: float) -> Atoms:
    """Copy of ``atoms`` scaled to the volume V (1 + percent/100) (see :func:`scaled_geometry`).
    Info: config_type ``volume_scan``, ``volume_change_percent``."""
    pos, cell = scaled_geometry(atoms, percent)
    out = atoms.copy()
    out.set_cell(cell, scale_atoms=False)
    out.positions = pos
    out.info[keys.CONFIG_TYPE] = keys.CT_VOLUME_SCAN
    out.info["volume_change_percent"] = float(percent)
    return out
