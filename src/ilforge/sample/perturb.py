"""Perturbed copies of frames: rattles, isotropic volume scans and contact scans (the one implementation).

Both give the reference method configurations away from the classical force field's
equilibrium - the papers' recipe for better training data (forces far from zero, stresses at
compressed and expanded volumes, intermolecular contacts shorter than the force field ever makes).
This module is the geometry (:func:`rattled_positions`, :func:`scaled_geometry`,
:func:`closest_contact`, :func:`contact_geometry`); :mod:`ilforge.reference.strategies` makes derived frames of it that
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


def closest_contact(atoms: Atoms, element_a: str, element_b: str) -> tuple[int, int, np.ndarray] | None:
    """The closest intermolecular pair (i, j, r_ij) with atom i of ``element_a`` and atom j of
    ``element_b`` in different molecules (``mol_id``), r_ij = r_j − r_i under the minimum image (Å);
    None when the frame has no such pair."""
    from ase.geometry import get_distances

    sym = np.array(atoms.get_chemical_symbols())
    mol = np.asarray(atoms.arrays[keys.MOL_ID])
    ia, ib = np.flatnonzero(sym == element_a), np.flatnonzero(sym == element_b)
    if not len(ia) or not len(ib):
        return None
    vec, dist = get_distances(atoms.positions[ia], atoms.positions[ib], cell=atoms.cell, pbc=atoms.pbc)
    dist = np.where(mol[ia][:, None] != mol[ib][None, :], dist, np.inf)
    if not np.isfinite(dist).any():
        return None
    k, l = np.unravel_index(int(np.argmin(dist)), dist.shape)
    return int(ia[k]), int(ib[l]), np.asarray(vec[k, l], dtype=float)


def contact_geometry(atoms: Atoms, i: int, j: int, r_ij: np.ndarray, distance_A: float) -> np.ndarray:
    """Positions (n, 3) Å with the molecule of atom ``j`` translated rigidly along the contact
    vector ``r_ij`` (from atom ``i``, minimum image) so that |r_ij| becomes ``distance_A``:
    every atom of that molecule moves by (distance_A / |r_ij| − 1) r_ij; the other molecules stay."""
    r = float(np.linalg.norm(r_ij))
    mol = np.asarray(atoms.arrays[keys.MOL_ID])
    pos = atoms.positions.copy()
    pos[mol == mol[j]] += (distance_A / r - 1.0) * np.asarray(r_ij)
    return pos


def min_intermolecular_distance(atoms: Atoms, positions: np.ndarray) -> float:
    """The shortest distance (Å, minimum image) between atoms of different molecules at ``positions``."""
    from ase.geometry import get_distances

    mol = np.asarray(atoms.arrays[keys.MOL_ID])
    _, dist = get_distances(positions, cell=atoms.cell, pbc=atoms.pbc)
    return float(np.where(mol[:, None] != mol[None, :], dist, np.inf).min())
