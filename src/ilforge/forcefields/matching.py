"""Map the atoms of a species (RDKit order, explicit H) onto the atoms of a molecule file.

Both are molecular graphs: nodes are atoms labelled by element, edges are covalent bonds
(bond orders are ignored: force-field files carry none). A graph isomorphism (networkx VF2)
gives ``mapping[i_species] = i_file``. Where the molecule has symmetry any isomorphism is
valid because symmetry-equivalent atoms carry the same force-field type in the file; the
mapping is checked for that and an error is raised if two isomorphisms give different types.
"""

from __future__ import annotations

from collections.abc import Sequence

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
