"""Packed boxes for the benchmarks from the force-field templates' reference geometries, through
ilforge's Packmol driver (same contract as ``ilforge.build.box``: ase.Atoms with mol_id /
mol_species arrays, molecules whole, species atoms in RDKit order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys, units


def default_clandp() -> Path:
    """The CL&P database shipped with ilforge (:func:`ilforge.forcefields.shipped.clandp_dir`)."""
    from ilforge.forcefields.shipped import clandp_dir

    return clandp_dir()


def packmol_box(templates: dict, counts: dict[str, int], density_g_cm3: float, seed: int = 0) -> Atoms:
    """Cubic periodic box holding ``counts`` molecules (the templates' reference geometries) at
    ``density_g_cm3``, packed by ilforge's Packmol driver (tolerance 2 Å, periodic)."""
    from ilforge.build.packmol import pack

    mass = sum(sum(templates[s].masses_amu) * n for s, n in counts.items())
    L = units.volume_A3_for_density(mass, density_g_cm3) ** (1 / 3)
    mols = [(Atoms(templates[s].symbols, positions=templates[s].positions_A), n) for s, n in counts.items()]
    pos = pack(mols, L, tolerance_A=2.0, seed=seed)
    symbols, mol_id, mol_sp = [], [], []
    m = 0
    for s, n in counts.items():
        for _ in range(n):
            symbols += templates[s].symbols
            mol_id += [m] * templates[s].n_atoms
            mol_sp += [s] * templates[s].n_atoms
            m += 1
    atoms = Atoms(symbols, positions=pos, cell=[L, L, L], pbc=True)
    atoms.arrays[keys.MOL_ID] = np.array(mol_id)
    atoms.arrays[keys.MOL_SPECIES] = np.array(mol_sp)
    return atoms
