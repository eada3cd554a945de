"""3D geometries of isolated species for packing: RDKit ETKDG + UFF, with ideal polyhedra for
hypervalent "star" ions (PF6-, BF4-, ClO4- ...), where UFF's tabulated angles are wrong (it makes
PF6- tetrahedral-like and distorted).

Atom order is the species' RDKit order with explicit hydrogens (``Species.symbols``), so the
same index maps an atom of a box to its species' molecular graph.
"""

from __future__ import annotations

import functools

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

from ilforge.chem.species import Species
from ilforge.errors import BuildError

#: unit vectors of ideal coordination polyhedra (VSEPR, no lone pairs)
_POLYHEDRA = {
    1: np.array([[1.0, 0, 0]]),
    2: np.array([[1.0, 0, 0], [-1.0, 0, 0]]),
    3: np.array([[1.0, 0, 0], [-0.5, np.sqrt(3) / 2, 0], [-0.5, -np.sqrt(3) / 2, 0]]),
    4: np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3),
    5: np.array([[0, 0, 1.0], [0, 0, -1.0], [1.0, 0, 0], [-0.5, np.sqrt(3) / 2, 0], [-0.5, -np.sqrt(3) / 2, 0]]),
    6: np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0], [0, 0, 1.0], [0, 0, -1.0]]),
}


def _bond_length(a: str, b: str) -> float:
    return float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


def _star_center(sp: Species) -> int | None:
    """Index of the central atom when every bond joins it to a terminal atom, else None."""
    if sp.n_atoms < 2 or len(sp.bonds) != sp.n_atoms - 1:
        return None
    degree = np.bincount(np.array(sp.bonds).ravel(), minlength=sp.n_atoms)
    center = int(np.argmax(degree))
    return center if degree[center] == sp.n_atoms - 1 else None


def _ideal_star(sp: Species, center: int) -> np.ndarray:
    pos = np.zeros((sp.n_atoms, 3))
    ligands = [j for j in range(sp.n_atoms) if j != center]
    dirs = _POLYHEDRA[len(ligands)]
    for d, j in zip(dirs, ligands):
        pos[j] = d * _bond_length(sp.symbols[center], sp.symbols[j])
    return pos


def geometry_is_sane(sp: Species, pos: np.ndarray) -> bool:
    """Bonded pairs within 0.75-1.3 x the covalent-radius sum; non-bonded pairs farther than 1.0 Å."""
    bonded = set(sp.bonds)
    for i in range(sp.n_atoms):
        for j in range(i + 1, sp.n_atoms):
            d = float(np.linalg.norm(pos[i] - pos[j]))
            if (i, j) in bonded:
                ref = _bond_length(sp.symbols[i], sp.symbols[j])
                if not 0.75 * ref <= d <= 1.3 * ref:
                    return False
            elif d < 1.0:
                return False
    return True


@functools.lru_cache(maxsize=256)
def _embed_cached(sp: Species, seed: int) -> tuple[tuple[float, float, float], ...]:
    from rdkit import RDLogger
    from rdkit.Chem import AllChem

    RDLogger.DisableLog("rdApp.*")
    if sp.n_atoms == 1:
        return ((0.0, 0.0, 0.0),)
    center = _star_center(sp)
    if center is not None and sp.n_atoms - 1 in _POLYHEDRA and sp.n_atoms - 1 >= 5:
        pos = _ideal_star(sp, center)
        return tuple(map(tuple, pos - pos.mean(axis=0)))
    mol = sp.rdkit_mol()
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise BuildError(f"species {sp.name}: RDKit could not embed a 3D geometry for {sp.smiles}")
    try:
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol, maxIters=1000)
        else:
            AllChem.UFFOptimizeMolecule(mol, maxIters=1000)
    except Exception:  # noqa: BLE001 - optimisation is a refinement; sanity is checked below
        pass
    pos = mol.GetConformer().GetPositions()
    if not geometry_is_sane(sp, pos):
        if center is not None and sp.n_atoms - 1 in _POLYHEDRA:
            pos = _ideal_star(sp, center)
        else:
            raise BuildError(
                f"species {sp.name}: the embedded geometry of {sp.smiles} has unphysical bond lengths; "
                f"check the SMILES (hypervalent centres need explicit charges)"
            )
    return tuple(map(tuple, pos - pos.mean(axis=0)))


def species_geometry(sp: Species, seed: int = 0) -> Atoms:
    """Isolated-molecule geometry of ``sp`` as ASE Atoms (Å), centred at the origin."""
    pos = np.array(_embed_cached(sp, int(seed)))
    return Atoms(symbols=list(sp.symbols), positions=pos)


#: a pair of atoms of one molecule is bonded when its minimum-image distance is below this factor
#: times the sum of covalent radii (ASE's table); 1.25 takes every stretched covalent bond of a
#: thermal liquid (C-H 1.09 Å < 1.34 Å) and no 1-3 contact (C...C across a ring ~2.2 Å > 1.9 Å)
BOND_FACTOR = 1.25


def _mic_vectors(vectors: np.ndarray, cell: np.ndarray, pbc) -> np.ndarray:
    """Minimum-image versions of ``vectors`` (n, 3) Å in ``cell`` (rows a, b, c)."""
    from ase.geometry import find_mic

    d, _ = find_mic(np.asarray(vectors, dtype=float).reshape(-1, 3), cell, pbc=pbc)
    return d


def bond_graph(numbers, positions: np.ndarray, cell: np.ndarray, pbc=True, factor: float = BOND_FACTOR):
    """Bonds of one molecule from covalent radii under the minimum image.

    Returns ``(pairs, vec)``: pairs (B, 2) of atom indices i < j with |d_ij| < factor (r_i + r_j),
    and vec (B, 3) Å, the minimum-image vector d_ij = r_j - r_i of each pair. Cost O(n²) in the
    molecule's atoms.
    """
    z = np.asarray(numbers)
    pos = np.asarray(positions, dtype=float)
    n = len(z)
    i, j = np.triu_indices(n, k=1)
    if len(i) == 0:
        return np.zeros((0, 2), dtype=int), np.zeros((0, 3))
    d = _mic_vectors(pos[j] - pos[i], cell, pbc)
    rc = factor * (covalent_radii[z[i]] + covalent_radii[z[j]])
    keep = np.linalg.norm(d, axis=1) < rc
    return np.stack([i[keep], j[keep]], axis=1), d[keep]


def unwrap_molecule(numbers, positions: np.ndarray, cell: np.ndarray, pbc=True, root: int = 0,
                    factor: float = BOND_FACTOR) -> np.ndarray:
    """Positions (n, 3) Å of one molecule made whole by following its bonds.

    Breadth-first from ``root`` (kept in place): each neighbour j of a placed atom i goes to
    r_i + d_ij with d_ij the minimum-image bond vector (:func:`bond_graph`). Correct for any cell
    at least twice as wide as the longest bond, however far the molecule extends. Atoms not reached
    through bonds (a bond stretched beyond ``factor`` x the covalent sum) join through their
    shortest minimum-image distance to an atom already placed (a minimum-spanning-tree step).
    """
    pos = np.asarray(positions, dtype=float)
    n = len(pos)
    out = pos.copy()
    pairs, vec = bond_graph(numbers, pos, cell, pbc, factor)
    nbrs: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n)]
    for (a, b), v in zip(pairs, vec):
        nbrs[a].append((b, v))
        nbrs[b].append((a, -v))
    placed = np.zeros(n, dtype=bool)
    placed[root] = True
    queue = [root]
    while True:
        while queue:
            a = queue.pop(0)
            for b, v in nbrs[a]:
                if not placed[b]:
                    out[b] = out[a] + v
                    placed[b] = True
                    queue.append(b)
        if placed.all():
            return out
        queue = [_attach_nearest(out, placed, cell, pbc)]


def _attach_nearest(out: np.ndarray, placed: np.ndarray, cell: np.ndarray, pbc) -> int:
    """Place the unplaced atom closest (minimum image) to a placed one next to it; return its index."""
    done, todo = np.flatnonzero(placed), np.flatnonzero(~placed)
    a, b = np.meshgrid(done, todo, indexing="ij")
    d = _mic_vectors(out[b.ravel()] - out[a.ravel()], cell, pbc)
    k = int(np.argmin(np.linalg.norm(d, axis=1)))
    ia, ib = int(a.ravel()[k]), int(b.ravel()[k])
    out[ib] = out[ia] + d[k]
    placed[ib] = True
    return ib
