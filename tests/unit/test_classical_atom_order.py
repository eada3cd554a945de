"""The classical labeler maps each molecule onto its template by graph isomorphism (issue 12): atoms in
any order give the same energy and the correspondingly permuted forces; a broken molecule is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openmm")

from ase.io import read  # noqa: E402
from _ff_helpers import grid_box  # noqa: E402

from ilforge import keys  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.labels import LabelError  # noqa: E402
from ilforge.reference.classical import ClassicalLabeler  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "emim_bf4_4ip.extxyz"


@pytest.fixture(scope="module")
def templates():
    from ilforge.forcefields.shipped import clandp_dir

    lib = load_library()
    return {s: clandp_template(lib.get(s), clandp_dir()) for s in ("EMIM", "BF4", "PF6")}


@pytest.fixture(scope="module")
def labeler(templates):
    """One labeler for every case below, so a cached order from one frame is reused (and checked) on the next."""
    return ClassicalLabeler(templates, "CL&P", charge_scale=0.8, cutoff_A=4.5)


def _mol(atoms, m: int) -> np.ndarray:
    return np.flatnonzero(atoms.arrays[keys.MOL_ID] == m)


def _assert_same(labeler, atoms, perm, ref) -> None:
    """``atoms[perm]`` has the energy and stress of ``atoms`` and the forces ``ref.forces[perm]``."""
    got = labeler.label(atoms[perm])
    assert got.energy == pytest.approx(ref.energy, rel=1e-9, abs=1e-8)
    assert np.allclose(got.forces, ref.forces[perm], atol=1e-6)
    assert np.allclose(got.stress, ref.stress, atol=1e-9)


def _permutations(atoms, templates):
    """(name, perm): two H of different types in one EMIM swapped; a random order within one EMIM;
    the molecules in reverse order; every atom of the frame shuffled."""
    rng = np.random.default_rng(3)
    m0 = _mol(atoms, 0)
    sp0 = atoms.arrays[keys.MOL_SPECIES][m0[0]]
    types = templates[sp0].types
    h = [k for k, s in enumerate(templates[sp0].symbols) if s == "H"]
    h2 = next(k for k in h if types[k] != types[h[0]])
    swap = np.arange(len(atoms))
    swap[[m0[h[0]], m0[h2]]] = swap[[m0[h2], m0[h[0]]]]
    within = np.arange(len(atoms))
    within[m0] = rng.permutation(m0)
    ids = np.unique(atoms.arrays[keys.MOL_ID])
    reverse = np.concatenate([_mol(atoms, m) for m in ids[::-1]])
    return [("two H swapped", swap), ("random within a molecule", within), ("molecules reversed", reverse),
            ("all atoms shuffled", rng.permutation(len(atoms)))]


def test_permuted_atoms_give_the_same_energy_and_permuted_forces(labeler, templates):
    atoms = read(DATA, 0)
    assert atoms.arrays[keys.MOL_SPECIES][0] == "EMIM"
    ref = labeler.label(atoms)
    for name, perm in _permutations(atoms, templates):
        assert not np.array_equal(perm, np.arange(len(atoms))), name
        _assert_same(labeler, atoms, perm, ref)
    _assert_same(labeler, atoms, np.arange(len(atoms)), ref)  # the original order again, after the others


def test_a_wrong_order_is_not_taken_for_the_template_order(templates):
    """Without mapping, the swapped-H frame would pass the element check and get a very different energy."""
    from ilforge.forcefields.openmm_system import build_system
    from _ff_helpers import openmm_energy_forces

    atoms = read(DATA, 0)
    _, swap = _permutations(atoms, templates)[0]
    direct = [openmm_energy_forces(build_system(a, templates, charge_scale=0.8, cutoff_A=4.5)[0], a)[0]
              for a in (atoms, atoms[swap])]
    assert abs(direct[0] - direct[1]) > 100.0  # kJ/mol: what the unmapped labeler returned


def test_octahedral_leaves_are_mapped_by_geometry(templates):
    """Exchanging a cis and a trans F of PF6⁻ keeps the bond graph; the angle terms must follow the geometry."""
    atoms = grid_box(templates, ["EMIM", "PF6"], cell_A=12.0, spacing_A=6.0, seed=2)
    lab = ClassicalLabeler(templates, "CL&P", charge_scale=0.8, cutoff_A=5.0, compute_stress=False)
    ref = lab.label(atoms)
    pf6 = _mol(atoms, 1)
    f = pf6[[k for k, s in enumerate(templates["PF6"].symbols) if s == "F"]]
    perm = np.arange(len(atoms))
    perm[[f[0], f[1], f[2]]] = perm[[f[1], f[2], f[0]]]
    got = lab.label(atoms[perm])
    assert got.energy == pytest.approx(ref.energy, rel=1e-9, abs=1e-8)
    assert np.allclose(got.forces, ref.forces[perm], atol=1e-6)


def test_a_broken_molecule_gets_an_error_naming_it(labeler):
    atoms = read(DATA, 0)
    m = _mol(atoms, 2)
    sp = atoms.arrays[keys.MOL_SPECIES][m[0]]
    whole = atoms.positions[m]
    far = m[-1]
    away = atoms.positions[far] - whole.mean(axis=0)
    atoms.positions[far] += 3.0 * away / np.linalg.norm(away)
    with pytest.raises(LabelError, match=rf"molecule 2 \({sp}.*bond graph of {sp}.*\[{far}\] \(H\).*broken") as exc:
        labeler.label(atoms)
    assert exc.value.retryable is False


@pytest.mark.slow  # ~30 s of xTB on a loaded machine; the CL&P PF6⁻ test above covers the same path fast
def test_generic_force_field_goes_through_the_same_mapping(tmp_path):
    """The generic force field's PF6⁻ carries 12 cis terms at ~90° and 3 trans terms at ~180°: a cis/trans
    exchange in the frame's atom order must be undone by the mapping (else ~2 x 90° of angle strain)."""
    pytest.importorskip("tblite")
    from ilforge.forcefields.generic import generic_template

    lib = load_library()
    t = {s: generic_template(lib.get(s), cache_dir=tmp_path) for s in ("PF6", "Li")}
    atoms = grid_box(t, ["PF6", "Li"], cell_A=12.0, spacing_A=6.0, seed=5)
    lab = ClassicalLabeler(t, "generic", charge_scale=0.8, cutoff_A=5.0, compute_stress=False)
    ref = lab.label(atoms)
    f = [k for k, s in enumerate(t["PF6"].symbols) if s == "F"]
    perm = np.arange(len(atoms))
    perm[[f[0], f[1], f[2]]] = perm[[f[1], f[2], f[0]]]
    got = lab.label(atoms[perm])
    assert got.energy == pytest.approx(ref.energy, abs=1e-3)  # θ0 of symmetry-equivalent terms differ by < 0.1°
    assert np.allclose(got.forces, ref.forces[perm], atol=1e-2)
