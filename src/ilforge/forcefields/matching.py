"""Map the atoms of a species (RDKit order, explicit H) onto the atoms of a molecule file.

Both are molecular graphs: nodes are atoms labelled by element, edges are covalent bonds
(bond orders are ignored: force-field files carry none). A graph isomorphism (networkx VF2)
gives ``mapping[i_species] = i_file``. Where the molecule has symmetry any isomorphism is
valid because symmetry-equivalent atoms carry the same force-field type in the file; the
mapping is checked for that and an error is raised if two isomorphisms give different types.

Symmetry leaves one choice open that matters: which of a centre's equivalent terminal atoms sit
*trans* or *cis* (PF6-). :func:`align_equivalent_leaves` settles it so that the force field's
geometry and the packer's (:func:`ilforge.chem.geometry.species_geometry`) agree atom by atom, and
the angle terms chosen on one (:data:`ANGLE_TOLERANCE_DEG`, fftool's rule) fit the other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from ilforge import keys
from ilforge.errors import require
from ilforge.forcefields.clandp_reader import ForceFieldError


def _refined_colours(symbols: Sequence[str], bonds: Sequence[tuple[int, int]]) -> list[str]:
    """Colour refinement (1-dimensional Weisfeiler-Lehman): start from the element, then repeatedly
    append the sorted colours of the neighbours, until the partition is stable. Atoms that can map
    onto each other in an isomorphism always share a colour, so using colours as node labels prunes
    the search (long alkyl chains otherwise make VF2 backtrack exponentially)."""
    nbr: list[list[int]] = [[] for _ in symbols]
    for i, j in bonds:
        nbr[int(i)].append(int(j))
        nbr[int(j)].append(int(i))
    col = list(symbols)
    for _ in range(len(symbols)):
        new = [col[i] + "(" + ",".join(sorted(col[j] for j in nbr[i])) + ")" for i in range(len(col))]
        # compress to short canonical names so strings do not grow exponentially
        canon = {}
        for c, i in sorted(((c, i) for i, c in enumerate(new))):
            canon.setdefault(c, f"{symbols[i]}:{len(canon)}")
        newc = [canon[c] for c in new]
        if len(set(newc)) == len(set(col)):
            return newc
        col = newc
    return col


def _graph(symbols: Sequence[str], bonds: Sequence[tuple[int, int]], colours: Sequence[str]):
    nx = require("networkx", "classical")
    g = nx.Graph()
    for i, s in enumerate(symbols):
        g.add_node(i, element=s, colour=colours[i])
    g.add_edges_from((int(i), int(j)) for i, j in bonds)
    return g


def match_atoms(
    species_symbols: Sequence[str],
    species_bonds: Sequence[tuple[int, int]],
    file_symbols: Sequence[str],
    file_bonds: Sequence[tuple[int, int]],
    where: str = "molecule",
    file_types: Sequence[str] | None = None,
) -> list[int]:
    """``mapping`` with ``mapping[i] = j``: atom i of the species is atom j of the file.

    Raises :class:`ForceFieldError` when the element counts or the bond graphs differ (the
    message lists both formulas / bond counts), or when symmetry-equivalent atoms of the file
    carry different types (``file_types`` given).
    """
    nx = require("networkx", "classical")
    from collections import Counter

    cs, cf = Counter(species_symbols), Counter(file_symbols)
    if cs != cf:
        raise ForceFieldError(
            f"{where}: the species has atoms {dict(sorted(cs.items()))} but the molecule file has "
            f"{dict(sorted(cf.items()))}; choose the right molecule file (forcefield.molecule_files)"
        )
    # refine colours on the disjoint union so that both graphs share one colour table
    n_s = len(species_symbols)
    union_bonds = list(species_bonds) + [(i + n_s, j + n_s) for i, j in file_bonds]
    colours = _refined_colours(list(species_symbols) + list(file_symbols), union_bonds)
    gs = _graph(species_symbols, species_bonds, colours[:n_s])
    gf = _graph(file_symbols, file_bonds, colours[n_s:])
    if gs.number_of_edges() != gf.number_of_edges():
        raise ForceFieldError(
            f"{where}: the species has {gs.number_of_edges()} bonds but the molecule file has "
            f"{gf.number_of_edges()}; the file's connectivity differs from the SMILES"
        )
    matcher = nx.algorithms.isomorphism.GraphMatcher(gs, gf, node_match=lambda a, b: a["colour"] == b["colour"])
    first = None
    for k, iso in enumerate(matcher.isomorphisms_iter()):
        mapping = [iso[i] for i in range(len(species_symbols))]
        if first is None:
            first = mapping
            if file_types is None:
                break
        elif [file_types[j] for j in mapping] != [file_types[j] for j in first]:
            raise ForceFieldError(
                f"{where}: the molecule file assigns different types to symmetry-equivalent atoms; "
                f"the mapping of the species onto it is ambiguous"
            )
        if k >= 200:  # enough automorphisms checked
            break
    if first is None:
        raise ForceFieldError(
            f"{where}: the bond graph of the species (from its SMILES) does not match the molecule file's "
            f"connectivity; check the SMILES and the file"
        )
    return first


#: fftool's rule: an angle term whose value in the molecule's equilibrium geometry is farther than this
#: from the force field's θ0 is dropped (e.g. the three trans F-P-F pairs of PF6-, at 180° for θ0 = 90°)
ANGLE_TOLERANCE_DEG = 15.0
#: largest number of orderings of a centre's interchangeable leaves searched exhaustively (6! = 720)
_MAX_ORDERINGS = 5040


def bond_angle_deg(positions_A, i: int, j: int, k: int) -> float:
    """Angle i-j-k (degrees, 0-180) at atom j of ``positions_A`` (Å, shape (n, 3))."""
    u = np.asarray(positions_A[i], dtype=float) - positions_A[j]
    v = np.asarray(positions_A[k], dtype=float) - positions_A[j]
    c = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def _neighbours(n: int, bonds: Sequence[tuple[int, int]]) -> list[list[int]]:
    nbr: list[list[int]] = [[] for _ in range(n)]
    for i, j in bonds:
        nbr[int(i)].append(int(j))
        nbr[int(j)].append(int(i))
    return nbr


def _leaf_groups(c: int, nbr: list[list[int]], labels: Sequence[str]) -> list[list[int]]:
    """Groups (size >= 2) of the terminal neighbours of ``c`` with equal labels: swapping two atoms of a
    group is a graph automorphism that keeps every force-field type, so any order of them is valid."""
    groups: dict[str, list[int]] = {}
    for a in nbr[c]:
        if len(nbr[a]) == 1:
            groups.setdefault(labels[a], []).append(a)
    return [g for g in groups.values() if len(g) >= 2]


def _angle_spread(c: int, nbr: list[list[int]], pos) -> float:
    """max - min of the angles a-c-b over the neighbour pairs of ``c`` (degrees; 0 with < 3 neighbours)."""
    ang = [bond_angle_deg(pos, a, c, b) for a, b in itertools.combinations(nbr[c], 2)]
    return max(ang) - min(ang) if len(ang) > 1 else 0.0


def _best_leaf_order(c: int, nbr: list[list[int]], groups: list[list[int]], pos, ref) -> dict[int, int]:
    """Assignment {atom a: atom whose position it takes} of the leaves of ``groups`` (all on centre ``c``)
    minimising Σ_pairs (θ_ref(a, c, b) - θ(σ(a), c, σ(b)))² over the neighbour pairs of ``c``."""
    ns = nbr[c]
    th = {(a, b): bond_angle_deg(pos, a, c, b) for a in ns for b in ns if a != b}
    pairs = [(a, b, bond_angle_deg(ref, a, c, b)) for a, b in itertools.combinations(ns, 2)]
    best, best_cost = {a: a for a in ns}, float("inf")
    for choice in itertools.product(*[itertools.permutations(g) for g in groups]):
        sigma = {a: a for a in ns}
        for g, p in zip(groups, choice):
            sigma.update(zip(g, p))
        cost = sum((t - th[sigma[a], sigma[b]]) ** 2 for a, b, t in pairs)
        if cost < best_cost - 1e-9:
            best, best_cost = sigma, cost
    return best


def align_equivalent_leaves(
    labels: Sequence[str],
    bonds: Sequence[tuple[int, int]],
    positions_A,
    reference_A: Callable[[], np.ndarray],
    where: str = "molecule",
) -> list[int]:
    """Order of a force field's atoms that makes its geometry agree with the packer's, atom by atom.

    A graph isomorphism fixes atoms only up to the molecule's symmetry: the six F of PF6- (all type FP)
    can be numbered in 720 ways, and which F pairs are *trans* (180°) depends on that choice. The boxes
    are packed from :func:`ilforge.chem.geometry.species_geometry` (``reference_A()``, species order),
    so at every centre whose angles spread over more than :data:`ANGLE_TOLERANCE_DEG` and which holds
    interchangeable terminal atoms (same label), those atoms are reordered to minimise
    Σ (θ_ref - θ)² over the centre's angles. ``reference_A`` is called only when such a centre exists.

    Returns ``perm``: the atom ``i`` of the aligned molecule is atom ``perm[i]`` of ``positions_A``
    (labels, bonds and all parameters are unchanged by construction).
    """
    n = len(labels)
    perm = list(range(n))
    nbr = _neighbours(n, bonds)
    groups_at = [_leaf_groups(c, nbr, labels) for c in range(n)]
    todo = [(c, g) for c, g in enumerate(groups_at) if g and _angle_spread(c, nbr, positions_A) > ANGLE_TOLERANCE_DEG]
    if not todo:
        return perm
    ref = np.asarray(reference_A(), dtype=float)
    for c, groups in todo:
        if math.prod(math.factorial(len(g)) for g in groups) > _MAX_ORDERINGS:
            raise ForceFieldError(
                f"{where}: atom {c} has too many interchangeable neighbours to align with the packed geometry"
            )
        for a, src in _best_leaf_order(c, nbr, groups, positions_A, ref).items():
            perm[a] = src
    return perm


# --- atom order of molecules in a structure ------------------------------------------------------

#: two atoms of a molecule in a structure are bonded when closer than this x the sum of their covalent
#: radii (ASE's table; 1.2 for molecule files in :func:`.clandp_reader.read_xyz`, 1.3 here leaves room for
#: thermal and rattled frames; 1-3 distances are ~1.6 x the sum and more)
BOND_FACTOR = 1.3
#: a known atom order of a molecule is reused only while every angle term of its template is within this
#: of θ0 (a cis/trans exchange of PF6⁻'s F moves a 90° term to 180°)
ANGLE_CHECK_DEG = 45.0
#: atom orders remembered per (species, element sequence)
_MAX_CACHED_ORDERS = 8


def _bonded(symbols: Sequence[str], dist_A: np.ndarray, factor: float = BOND_FACTOR) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, i < j, with d_ij < ``factor`` (R_cov,i + R_cov,j) (Å; ``dist_A`` shape (n, n))."""
    from ase.data import atomic_numbers, covalent_radii

    rcov = np.array([covalent_radii[atomic_numbers[s]] for s in symbols])
    i, j = np.nonzero(np.triu(dist_A < factor * (rcov[:, None] + rcov[None, :]), k=1))
    return [(int(a), int(b)) for a, b in zip(i, j)]


def whole_molecules(atoms, molecules) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
    """Per molecule of ``molecules`` ((species, indices) pairs): its positions made whole (Å, (n, 3), in
    the order of its indices) and its bonds from the geometry, pairs closer than BOND_FACTOR x the sum of
    covalent radii. Distances use the minimum image of every pair; positions are unwrapped along those
    bonds from the molecule's first atom (atoms not reached: minimum image of their vector from it), so a
    molecule longer than half the cell is still whole as long as each bond is shorter than half the cell."""
    from ase.geometry import find_mic

    pos = np.asarray(atoms.positions, dtype=float)
    vecs = [(pos[idx][None, :, :] - pos[idx][:, None, :]).reshape(-1, 3) for _, idx in molecules]
    flat = np.concatenate(vecs) if vecs else np.zeros((0, 3))
    if np.any(atoms.pbc) and len(flat):
        flat, _ = find_mic(flat, atoms.cell, pbc=atoms.pbc)
    out, k = [], 0
    symbols = np.asarray(atoms.get_chemical_symbols())
    for _, idx in molecules:
        n = len(idx)
        d = flat[k:k + n * n].reshape(n, n, 3)  # d[i, j] = r_j - r_i (minimum image)
        k += n * n
        bonds = _bonded(list(symbols[idx]), np.linalg.norm(d, axis=-1))
        whole = pos[idx[0]] + d[0]
        nbr = _neighbours(n, bonds)
        seen, stack = {0}, [0]
        while stack:
            i = stack.pop()
            for j in nbr[i]:
                if j not in seen:
                    seen.add(j)
                    whole[j] = whole[i] + d[i, j]
                    stack.append(j)
        out.append((whole, bonds))
    return out


class TemplateMapper:
    """Maps every molecule of a structure onto its species' template (force-field atom order).

    The atoms of a molecule may come in any order (a LAMMPS dump, a DFT trajectory): the molecule's
    bond graph from its geometry (:func:`whole_molecules`, minimum image) is matched onto the
    template's bond graph, elements as node labels (:func:`match_atoms`), and interchangeable terminal
    atoms are aligned with the template's geometry (:func:`align_equivalent_leaves`: which F of PF6⁻ is
    trans to which). Orders found are cached per (species, element sequence) and reused for later
    molecules and frames while they fit the geometry (every template bond < BOND_FACTOR x R_cov sum and
    every angle term within ANGLE_CHECK_DEG of θ0); the template order itself is tried first.
    """

    def __init__(self, templates: dict):
        self.templates = templates
        self._orders: dict[tuple, list[np.ndarray]] = {}

    def order(self, atoms, molecules) -> np.ndarray:
        """``order`` with ``atoms[order]`` in template order within every molecule: the atom at index
        ``k`` of the reordered structure is atom ``order[k]`` of ``atoms`` (molecules keep their index
        sets, so mol_id / mol_species are unchanged). ``molecules``: (species, sorted indices) pairs.
        Raises :class:`ForceFieldError` naming the molecule when it cannot be mapped."""
        symbols = np.asarray(atoms.get_chemical_symbols())
        mol_id = np.asarray(atoms.arrays[keys.MOL_ID]) if keys.MOL_ID in atoms.arrays else None
        order = np.arange(len(atoms))
        for (sp, idx), (pos, bonds) in zip(molecules, whole_molecules(atoms, molecules)):
            where = f"molecule {int(mol_id[idx[0]]) if mol_id is not None else '?'} ({sp}, atoms {idx[0]}..{idx[-1]})"
            perm = self._molecule_order(sp, list(symbols[idx]), pos, bonds, where, idx)
            order[idx] = idx[perm]
        return order

    def _molecule_order(self, sp: str, symbols: list[str], pos: np.ndarray, bonds, where: str, idx) -> np.ndarray:
        """``perm``: template atom ``a`` is atom ``perm[a]`` of the molecule (``symbols``, whole positions
        ``pos`` and geometric ``bonds`` in its order; ``idx`` its atoms' indices in the frame, for messages)."""
        if sp not in self.templates:
            raise ForceFieldError(f"{where}: no force-field template for species {sp!r} (have {sorted(self.templates)})")
        t = self.templates[sp]
        key = (sp, tuple(symbols))
        tried = self._orders.setdefault(key, [])
        candidates = ([np.arange(t.n_atoms)] if symbols == list(t.symbols) else []) + tried
        for perm in candidates:
            if self._fits(t, pos[perm]):
                return perm
        perm = self._match(t, symbols, pos, bonds, where, idx)
        tried.insert(0, perm)
        del tried[_MAX_CACHED_ORDERS:]
        return perm

    @staticmethod
    def _fits(t, pos: np.ndarray) -> bool:
        """Every bond of template ``t`` shorter than BOND_FACTOR x R_cov sum and every angle term within
        ANGLE_CHECK_DEG of θ0, for positions ``pos`` (Å) in template order."""
        from ase.data import atomic_numbers, covalent_radii

        for a, b, *_ in t.bonds:
            rc = covalent_radii[atomic_numbers[t.symbols[a]]] + covalent_radii[atomic_numbers[t.symbols[b]]]
            if np.linalg.norm(pos[a] - pos[b]) > BOND_FACTOR * rc:
                return False
        return all(abs(bond_angle_deg(pos, a, b, c) - th0) <= ANGLE_CHECK_DEG for a, b, c, th0, _ in t.angles)

    @staticmethod
    def _match(t, symbols: list[str], pos: np.ndarray, bonds, where: str, idx) -> np.ndarray:
        """Template -> molecule atom map by graph isomorphism of the bond graphs, leaves aligned."""
        from collections import Counter

        if Counter(symbols) != Counter(t.symbols):
            raise ForceFieldError(
                f"{where}: has atoms {dict(sorted(Counter(symbols).items()))} but species {t.species} has "
                f"{dict(sorted(Counter(t.symbols).items()))}; check the frame's mol_id / mol_species arrays"
            )
        t_bonds = [(a, b) for a, b, *_ in t.bonds]
        try:
            mapping = match_atoms(t.symbols, t_bonds, symbols, bonds, where=where)
        except ForceFieldError:
            lone = sorted(set(range(len(symbols))) - {i for b in bonds for i in b})
            raise ForceFieldError(
                f"{where}: its bonds from the geometry ({len(bonds)} pairs closer than {BOND_FACTOR} x the "
                f"covalent radii, minimum image) do not form the bond graph of {t.species} ({len(t_bonds)} "
                f"bonds)" + (f"; atoms {[int(idx[k]) for k in lone]} ({', '.join(symbols[k] for k in lone)}) of the "
                             f"frame have no bonded neighbour" if lone else "")
                + ": the molecule is broken (or the mol_id / mol_species arrays are wrong)"
            ) from None
        if t.positions_A is not None and t.n_atoms > 2:
            types = [t.types[a] for a in range(t.n_atoms)]
            aligned = align_equivalent_leaves(types, t_bonds, pos[mapping], lambda: t.positions_A, where=where)
            mapping = [mapping[p] for p in aligned]
        return np.asarray(mapping, dtype=int)
