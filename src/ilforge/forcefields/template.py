"""A parametrised molecule (force-field neutral): what both CL&P and the generic force field produce.

Atoms are in the species' RDKit order (explicit H), the order of our boxes. Units are those of the
CL&P files (kJ/mol, Å, degrees, rad for angle force constants); :mod:`.openmm_system` converts.

Energy terms (all kJ/mol):
- bond: E = (k/2)(r - r0)^2, k in kJ/mol/Å², r0 in Å;
- angle: E = (k/2)(θ - θ0)^2, k in kJ/mol/rad², θ0 in degrees;
- torsion (proper and improper, OPLS form): E = Σ_n V_n/2 [1 + (-1)^(n+1) cos nφ], n = 1..4,
  φ the dihedral angle of atoms (i, j, k, l); impropers have their central atom third (k);
- Lennard-Jones: E = 4 ε_ij [(σ_ij/r)^12 - (σ_ij/r)^6], σ_ij = sqrt(σ_i σ_j), ε_ij = sqrt(ε_i ε_j)
  (geometric rules of OPLS-AA/CL&P), σ in Å, ε in kJ/mol;
- Coulomb between charges q (e, unscaled; the charge scale factor is applied when the System is built).
Pairs 1-2 and 1-3 are excluded; 1-4 pairs are scaled by 0.5 (LJ and Coulomb), as OPLS-AA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: OPLS-AA / CL&P scaling of 1-4 Lennard-Jones and Coulomb interactions
SCALE_14_LJ = 0.5
SCALE_14_COULOMB = 0.5


@dataclass
class MoleculeTemplate:
    """Parameters of one species. Per-atom lists have the length of the species' atoms."""

    species: str
    forcefield: str
    symbols: list[str]
    types: list[str]
    masses_amu: list[float]
    charges_e: list[float]
    sigma_A: list[float]
    epsilon_kJ_mol: list[float]
    bonds: list[tuple[int, int, float, float, bool]] = field(default_factory=list)  # i, j, r0 Å, k kJ/mol/Å², constrained
    angles: list[tuple[int, int, int, float, float]] = field(default_factory=list)  # i, j, k, θ0 deg, k kJ/mol/rad²
    torsions: list[tuple[int, int, int, int, tuple[float, float, float, float]]] = field(default_factory=list)
    impropers: list[tuple[int, int, int, int, tuple[float, float, float, float]]] = field(default_factory=list)
    #: torsions of any periodicity: i, j, k, l, n, φ0 (rad), k (kJ/mol) for E = k [1 + cos(nφ - φ0)]
    periodic_torsions: list[tuple[int, int, int, int, int, float, float]] = field(default_factory=list)
    #: reference geometry (Å), species order: the molecule file's or the xTB-optimised one
    positions_A: np.ndarray | None = None

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def net_charge_e(self) -> float:
        return float(np.sum(self.charges_e))

    def pair_lists(self) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
        """(excluded 1-2 and 1-3 pairs, 1-4 pairs) from the bond graph; i < j.

        A pair is 1-4 when its shortest bond path has 3 bonds (so pairs that are both 1-3 and
        1-4, as in five-membered rings, count as 1-3 and are excluded).
        """
        n = self.n_atoms
        nbr: list[set[int]] = [set() for _ in range(n)]
        for i, j, *_ in self.bonds:
            nbr[i].add(j)
            nbr[j].add(i)
        excl: set[tuple[int, int]] = set()
        p14: set[tuple[int, int]] = set()
        for a in range(n):
            dist = {a: 0}
            frontier = [a]
            for d in (1, 2, 3):
                nxt = []
                for u in frontier:
                    for v in nbr[u]:
                        if v not in dist:
                            dist[v] = d
                            nxt.append(v)
                frontier = nxt
            for b, d in dist.items():
                if b > a:
                    (excl if d <= 2 else p14).add((a, b))
        return excl, p14


def opls_to_periodic(v: tuple[float, float, float, float]) -> list[tuple[int, float, float]]:
    """OPLS V1..V4 (kJ/mol) -> (periodicity n, phase φ0 rad, k kJ/mol) for E = k [1 + cos(nφ - φ0)].

    V_n/2 [1 + cos φ], V2/2 [1 - cos 2φ] = V2/2 [1 + cos(2φ - π)], V3/2 [1 + cos 3φ],
    V4/2 [1 - cos 4φ]; zero terms are dropped.
    """
    out = []
    for n, vn in enumerate(v, 1):
        if vn != 0.0:
            out.append((n, 0.0 if n % 2 == 1 else np.pi, vn / 2.0))
    return out
