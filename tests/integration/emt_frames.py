"""Cheap, deterministic labelled frames for MLIP tests: rattled Cu/Au fcc alloys labelled with ASE's EMT."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT

from ilforge import keys

LEVEL = "emt:ase"


def label(atoms: Atoms, config_type: str = "rattle") -> Atoms:
    atoms.calc = EMT()
    atoms.info[keys.REF_ENERGY] = float(atoms.get_potential_energy())
    atoms.arrays[keys.REF_FORCES] = atoms.get_forces().copy()
    if atoms.pbc.all():
        atoms.info[keys.REF_STRESS] = atoms.get_stress(voigt=True).copy()
    atoms.calc = None
    atoms.info[keys.LEVEL_OF_THEORY] = LEVEL
    atoms.info[keys.CONFIG_TYPE] = config_type
    return atoms


def alloy_frames(n: int, seed: int, au_fractions=(0.0, 0.25, 0.5), repeat=(2, 2, 2), rattle_A=0.1, strain=0.03) -> list[Atoms]:
    """``n`` frames of a cubic fcc Cu/Au supercell (4·prod(repeat) atoms), random occupation, strain and rattle."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        x = au_fractions[i % len(au_fractions)]
        a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(repeat)
        n_au = int(round(x * len(a)))
        symbols = np.array(a.get_chemical_symbols())
        symbols[rng.permutation(len(a))[:n_au]] = "Au"
        a.set_chemical_symbols(symbols.tolist())
        a.set_cell(a.cell * (1 + rng.uniform(-strain, strain)), scale_atoms=True)
        a.positions += rng.normal(0, rattle_A, a.positions.shape)
        a.info[keys.COMPOSITION_ID] = f"au{x:.2f}"
        a.info[keys.TEMPERATURE_K] = 300.0
        frames.append(label(a))
    return frames


def isolated_atoms(elements=("Cu", "Au")) -> list[Atoms]:
    out = []
    for el in elements:
        a = Atoms(el, positions=[[0, 0, 0]], cell=[20, 20, 20], pbc=False)
        out.append(label(a, keys.CT_ISOLATED_ATOM))
    return out
