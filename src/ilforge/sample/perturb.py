"""Perturbed copies of frames: rattles and isotropic volume scans (the one implementation).

Both give the reference method configurations away from the classical force field's
equilibrium - the papers' recipe for better training data (forces far from zero, stresses at
compressed and expanded volumes). This module is the geometry (:func:`rattled_positions`,
:func:`scaled_geometry`); :mod:`ilforge.reference.strategies` makes derived frames of it that
remember their parent (the labelling strategies, ``labels.strategies`` in the recipe).
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
