"""Perturbed copies of sampled frames: rattles and isotropic volume scans.

Both give the reference method configurations away from the classical force field's
equilibrium - the papers' recipe for better training data (forces far from zero, stresses at
compressed and expanded volumes).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge import keys


def rattle(atoms: Atoms, stdev_A: float, seed: int) -> Atoms:
    """Copy with every atom displaced by an isotropic Gaussian of standard deviation ``stdev_A`` (Å)."""
    rng = np.random.default_rng(seed)
    out = atoms.copy()
    out.positions = atoms.positions + rng.normal(0.0, stdev_A, size=atoms.positions.shape)
    out.info[keys.CONFIG_TYPE] = keys.CT_RATTLE
    out.info["rattle_stdev_A"] = float(stdev_A)
    return out


def volume_scan(atoms: Atoms, percent: float) -> Atoms:
    """Copy with the cell scaled isotropically to volume V (1 + percent/100); the molecules (mol_id)
    move rigidly with their centres of mass, so bond lengths and angles are unchanged.

    Linear scale factor s = (1 + percent/100)^(1/3); centre of mass c -> s c.
    """
    if percent <= -100:
        raise ValueError(f"volume change must be > -100 %, got {percent}")
    s = (1.0 + percent / 100.0) ** (1.0 / 3.0)
    out = atoms.copy()
    pos = atoms.positions.copy()
    masses = atoms.get_masses()
    mol_id = atoms.arrays.get(keys.MOL_ID, np.arange(len(atoms)))
    for m in np.unique(mol_id):
        idx = np.flatnonzero(mol_id == m)
        com = (masses[idx, None] * pos[idx]).sum(axis=0) / masses[idx].sum()
        pos[idx] += (s - 1.0) * com
    out.set_cell(atoms.cell[:] * s, scale_atoms=False)
    out.positions = pos
    out.info[keys.CONFIG_TYPE] = keys.CT_VOLUME_SCAN
    out.info["volume_change_percent"] = float(percent)
    return out
