"""Small test systems for the force-field tests: molecules from templates on a grid, randomly rotated."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from scipy.spatial.transform import Rotation

from ilforge import keys


def grid_box(templates: dict, species: list[str], cell_A: float, spacing_A: float, seed: int = 0, pbc: bool = True) -> Atoms:
    """One molecule of each entry of ``species`` per grid site (spacing ``spacing_A``) in a cubic cell."""
    rng = np.random.default_rng(seed)
    per_side = int(np.ceil(len(species) ** (1 / 3)))
    sites = [np.array([i, j, k]) * spacing_A + spacing_A / 2 for i in range(per_side) for j in range(per_side) for k in range(per_side)]
    symbols, pos, mol_id, mol_sp = [], [], [], []
    for m, s in enumerate(species):
        t = templates[s]
        p = np.asarray(t.positions_A, dtype=float)
        p = p - p.mean(axis=0)
        p = Rotation.random(random_state=int(rng.integers(1 << 31))).apply(p) if len(p) > 1 else p
        pos.append(p + sites[m])
        symbols += t.symbols
        mol_id += [m] * t.n_atoms
        mol_sp += [s] * t.n_atoms
    atoms = Atoms(symbols, positions=np.vstack(pos), cell=[cell_A] * 3, pbc=pbc)
    atoms.arrays[keys.MOL_ID] = np.array(mol_id)
    atoms.arrays[keys.MOL_SPECIES] = np.array(mol_sp)
    return atoms


def openmm_energy_forces(system, atoms, platform: str = "Reference"):
    """(energy kJ/mol, forces kJ/mol/nm) of ``atoms`` under ``system``."""
    import openmm as mm

    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName(platform))
    if atoms.pbc.all():
        ctx.setPeriodicBoxVectors(*[mm.Vec3(*row) for row in np.asarray(atoms.cell[:]) * 0.1])
    ctx.setPositions(atoms.positions * 0.1)
    st = ctx.getState(getEnergy=True, getForces=True)
    return st.getPotentialEnergy()._value, np.asarray(st.getForces(asNumpy=True)._value), ctx


def assert_forces_are_minus_fd_gradient(ctx, atoms, forces, seed: int, n_atoms: int = 8, h_nm: float = 1e-4) -> None:
    """Central finite differences of the OpenMM energy (kJ/mol) along x, y, z of ``n_atoms`` random
    atoms equal ``forces`` (kJ/mol/nm) within 1e-4 relative / 1e-2 absolute."""
    import pytest

    pos = atoms.positions * 0.1
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(atoms), n_atoms, replace=False):
        for k in range(3):
            e = []
            for s in (1, -1):
                p = pos.copy()
                p[i, k] += s * h_nm
                ctx.setPositions(p)
                e.append(ctx.getState(getEnergy=True).getPotentialEnergy()._value)
            assert -(e[0] - e[1]) / (2 * h_nm) == pytest.approx(forces[i, k], rel=1e-4, abs=1e-2)

