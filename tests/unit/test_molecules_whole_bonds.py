"""Molecules made whole by following bonds (issue 15 item 6): also when a molecule is wider than
half the cell, where unwrapping every atom relative to the first atom by the minimum image fails."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.chem.geometry import bond_graph, species_geometry, unwrap_molecule
from ilforge.chem.species import load_library
from ilforge.sample.md import make_molecules_whole

CELL_A = 8.5


def _split_box(names: list[str], seed: int = 0) -> tuple[Atoms, list]:
    """Molecules of ``names`` in a cubic 8.5 Å cell, each straddling the cell's corner, every atom
    wrapped into the cell and then moved by a random lattice vector; returns (atoms, species)."""
    lib = load_library()
    rng = np.random.default_rng(seed)
    symbols, pos, mol_id, mol_sp, species = [], [], [], [], []
    for m, name in enumerate(names):
        sp = lib.get(name)
        geo = species_geometry(sp)
        symbols += list(geo.get_chemical_symbols())
        pos.append(geo.positions + rng.uniform(-1, 1, 3))  # centred near the corner: split on every axis
        mol_id += [m] * len(geo)
        mol_sp += [name] * len(geo)
        species.append(sp)
    at = Atoms(symbols, positions=np.vstack(pos), cell=[CELL_A] * 3, pbc=True)
    at.wrap()
    at.positions += rng.integers(-2, 3, size=(len(at), 3)) * CELL_A
    at.arrays[keys.MOL_ID] = np.array(mol_id)
    at.arrays[keys.MOL_SPECIES] = np.array(mol_sp)
    return at, species


def _bonded_distances(atoms: Atoms, species: list) -> np.ndarray:
    out, start = [], 0
    for sp in species:
        for a, b in sp.bonds:
            out.append(np.linalg.norm(atoms.positions[start + a] - atoms.positions[start + b]))
        start += sp.n_atoms
    return np.array(out)


@pytest.mark.parametrize("names", [["EMIM", "BF4"], ["TFSI"]])
def test_molecules_wider_than_half_the_cell_become_whole(names):
    at, species = _split_box(names)
    extent = max(np.ptp(species_geometry(sp).positions, axis=0).max() for sp in species)
    assert extent > CELL_A / 2  # the case the old minimum-image-from-the-first-atom rule got wrong
    assert _bonded_distances(at, species).max() > 3.0  # split before
    out = make_molecules_whole(at)
    assert _bonded_distances(out, species).max() <= 1.9
    start = 0
    for sp in species:  # the shape is the isolated molecule's (rigid translation only)
        ref = species_geometry(sp).positions
        got = out.positions[start:start + sp.n_atoms]
        assert np.allclose(got - got[0], ref - ref[0], atol=1e-8)
        start += sp.n_atoms
    frac = out.get_scaled_positions(wrap=False)
    for m in np.unique(out.arrays[keys.MOL_ID]):
        c = frac[out.arrays[keys.MOL_ID] == m].mean(axis=0)
        assert np.all(c >= 0) and np.all(c < 1)


def test_bond_graph_finds_the_covalent_bonds_of_emim():
    sp = load_library().get("EMIM")
    geo = species_geometry(sp)
    pairs, vec = bond_graph(geo.numbers, geo.positions, np.eye(3) * CELL_A)
    assert {tuple(p) for p in pairs.tolist()} == {tuple(sorted(b)) for b in sp.bonds}
    assert np.allclose(vec, geo.positions[pairs[:, 1]] - geo.positions[pairs[:, 0]])


def test_a_stretched_bond_is_joined_by_the_nearest_image():
    # H-F at 2.0 Å: beyond 1.25 x (0.31 + 0.57) Å, so not a bond; still joined across the boundary
    pos = np.array([[0.2, 0.0, 0.0], [6.2, 0.0, 0.0]])
    out = unwrap_molecule([1, 9], pos, np.eye(3) * 8.0)
    assert np.linalg.norm(out[1] - out[0]) == pytest.approx(2.0)
