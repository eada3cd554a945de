"""A toy molecular force field for fast MD tests: harmonic bonds + Lennard-Jones between non-bonded pairs.

E = Σ_bonds k/2 (d - r0)² + Σ_nonbonded 4ε[(σ/d)¹² - (σ/d)⁶] (shifted to 0 at rc); forces and stress
(σ_ab = (1/V) Σ_pairs u'(d) D_a D_b / d, ASE's sign) are analytic. Also builds small Li⁺/BF4⁻ boxes.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list


class ToyMolecularFF(Calculator):
    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, bonds, r0, k=20.0, sigma=2.6, epsilon=0.01, rc=6.0, **kw):
        super().__init__(**kw)
        self.bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
        self.r0 = np.asarray(r0, dtype=float)
        self.k, self.sigma, self.epsilon, self.rc = k, sigma, epsilon, rc
        self._bonded = {tuple(sorted(b)) for b in self.bonds.tolist()}

    def _lj(self, d):
        s6 = (self.sigma / d) ** 6
        sc6 = (self.sigma / self.rc) ** 6
        e = 4 * self.epsilon * (s6 * s6 - s6) - 4 * self.epsilon * (sc6 * sc6 - sc6)
        de = 4 * self.epsilon * (-12 * s6 * s6 + 6 * s6) / d
        return e, de

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        n = len(a)
        forces = np.zeros((n, 3))
        virial = np.zeros((3, 3))
        energy = 0.0
        i, j, D = neighbor_list("ijD", a, self.rc)
        keep = i < j
        i, j, D = i[keep], j[keep], D[keep]
        if self._bonded:
            nb = np.array([(x, y) not in self._bonded for x, y in zip(i.tolist(), j.tolist())], dtype=bool)
            i, j, D = i[nb], j[nb], D[nb]
        d = np.linalg.norm(D, axis=1)
        e, de = self._lj(d)
        energy += e.sum()
        f = (de / d)[:, None] * D  # dU/dD
        np.add.at(forces, i, f)
        np.subtract.at(forces, j, f)
        virial += np.einsum("p,pa,pb->ab", de / d, D, D)
        if len(self.bonds):
            from ase.geometry import find_mic

            bi, bj = self.bonds[:, 0], self.bonds[:, 1]
            Db, db = find_mic(a.positions[bj] - a.positions[bi], a.cell, a.pbc)
            ub = self.k * (db - self.r0)
            energy += 0.5 * (self.k * (db - self.r0) ** 2).sum()
            fb = (ub / db)[:, None] * Db
            np.add.at(forces, bi, fb)
            np.subtract.at(forces, bj, fb)
            virial += np.einsum("p,pa,pb->ab", ub / db, Db, Db)
        self.results["energy"] = self.results["free_energy"] = float(energy)
        self.results["forces"] = forces
        if a.cell.rank == 3:
            s = virial / a.get_volume()
            self.results["stress"] = s.flat[[0, 4, 8, 5, 2, 1]]


def bf4_geometry():
    """B at the origin, four F on a tetrahedron at 1.40 Å (RDKit atom order of F[B-](F)(F)F: F, B, F, F, F)."""
    t = np.array([[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) / np.sqrt(3) * 1.40
    return ["F", "B", "F", "F", "F"], np.array([t[0], [0, 0, 0], t[1], t[2], t[3]])


def li_bf4_box(n_pairs=8, spacing=5.0, seed=0):
    """A cubic box of n_pairs Li⁺ and BF4⁻ on a grid, with mol_id / mol_species; returns (atoms, calculator)."""
    rng = np.random.default_rng(seed)
    m = int(np.ceil((2 * n_pairs) ** (1 / 3)))
    sites = np.array([[x, y, z] for x in range(m) for y in range(m) for z in range(m)])[: 2 * n_pairs] * spacing + spacing / 2
    sym, pos, mol_id, mol_sp, bonds, r0 = [], [], [], [], [], []
    fsym, fpos = bf4_geometry()
    for k, site in enumerate(sites):
        if k % 2 == 0:
            sym.append("Li"); pos.append(site); mol_id.append(k); mol_sp.append("Li")
        else:
            base = len(sym)
            from scipy.spatial.transform import Rotation

            R = Rotation.random(random_state=rng.integers(1 << 31)).as_matrix()
            sym += fsym; pos += list(site + fpos @ R.T); mol_id += [k] * 5; mol_sp += ["BF4"] * 5
            for f in (0, 2, 3, 4):
                bonds.append((base + 1, base + f)); r0.append(1.40)
    atoms = Atoms(sym, positions=pos, cell=np.eye(3) * m * spacing, pbc=True)
    atoms.arrays["mol_id"] = np.array(mol_id)
    atoms.arrays["mol_species"] = np.array(mol_sp)
    return atoms, ToyMolecularFF(bonds, r0)
