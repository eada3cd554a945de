"""CL&P reader, atom matching and the OpenMM System: exact energies, forces, missing parameters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("openmm")
pytest.importorskip("networkx")

from _ff_helpers import assert_forces_are_minus_fd_gradient, grid_box, openmm_energy_forces  # noqa: E402

from ilforge.chem.species import load_library, make_species  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.forcefields.clandp_reader import ForceFieldError, read_ff, read_zmat  # noqa: E402
from ilforge.forcefields.openmm_system import GROUPS, build_system  # noqa: E402

COULOMB_KJ_MOL_A = 1389.35458  # 1/(4 pi eps0) in kJ/mol Å e^-2 (OpenMM's ONE_4PI_EPS0 x 10)


@pytest.fixture
def lib():
    return load_library()


def test_read_ff_units_and_sections(clandp):
    db = read_ff(clandp / "il.ff")
    assert db.atoms["CR"].btype == "CR" and db.atoms["HCR"].btype == "HA"
    assert db.atoms["NA"].sigma_A == pytest.approx(3.25) and db.atoms["NA"].epsilon_kJ_mol == pytest.approx(0.71128)
    b = db.bond("CT", "HC")
    assert b.r0_A == pytest.approx(1.090) and b.k_kJ_mol_A2 == pytest.approx(2845.0) and b.constrained
    assert db.bond("HC", "CT") == b  # either direction
    assert db.angle("HC", "CT", "CT") == db.angle("CT", "CT", "HC")
    assert db.dihedral("CT", "CT", "CT", "CT") == pytest.approx((5.4392, -0.2092, 0.8368, 0.0))


def test_zmat_geometry_reproduces_internal_coordinates(clandp):
    m = read_zmat(clandp / "c2c1im.zmat")
    assert m.n_atoms == 19 and m.names[1] == "CR" and m.ff_file == "il.ff"
    p = m.positions_A
    assert np.linalg.norm(p[1] - p[0]) == pytest.approx(1.315, abs=1e-6)
    assert (0, 4) in m.bonds  # `connect 5 1` closes the ring
    u, v = p[0] - p[2], p[3] - p[2]  # angle 4-3-2 (1-based) = 108.0
    u, v = p[1] - p[2], p[3] - p[2]
    ang = np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
    assert ang == pytest.approx(108.0, abs=1e-6)
    # the imidazolium ring is planar (dihedrals 0)
    ring = p[[0, 1, 2, 3, 4]]
    centred = ring - ring.mean(axis=0)
    assert np.linalg.svd(centred)[1][-1] < 1e-6
    assert m.impropers[0] == (4, 1, 0, 5)


def test_zmat_variables_and_unnumbered_rows(clandp, water_models):
    m = read_zmat(clandp / "otf.zmat")
    assert np.linalg.norm(m.positions_A[1] - m.positions_A[0]) == pytest.approx(1.332)
    w = read_zmat(water_models / "spce.zmat")
    assert w.names == ["Hw", "Ow", "Hw"] and w.ff_file == "spce.ff" and len(w.bonds) == 2


def test_emim_types_charges_and_matching_is_order_independent(clandp, lib):
    emim = lib.get("EMIM")
    t = clandp_template(emim, clandp)
    assert t.net_charge_e == pytest.approx(1.0, abs=1e-9)
    # the C2 carbon (between the N) is type CR, its H is HCR; the CH3 on N is C1, the CH2 C1A
    sym = emim.symbols
    c2 = next(i for i in range(len(sym)) if sym[i] == "C" and sum(1 for b in emim.bonds if i in b and "N" in (sym[b[0]], sym[b[1]])) == 2)
    assert t.types[c2] == "CR"
    assert sorted(set(t.types)) == sorted({"NA", "CR", "CW", "C1", "C1A", "CE", "HCR", "HCW", "H1", "HC"})
    # every improper has its central atom third, bonded to the three others
    bonded = {frozenset(b[:2]) for b in t.bonds}
    assert len(t.impropers) == 5
    for a, b, c, d, _ in t.impropers:
        assert all(frozenset((c, x)) in bonded for x in (a, b, d))
    # a species written with another atom order gets the same types per chemical atom
    alt = make_species("EMIM_alt", "C[n+]1ccn(CC)c1", 1)
    t2 = clandp_template(alt, clandp, overrides={"EMIM_alt": "c2c1im.zmat"})
    from collections import Counter

    assert Counter(t2.types) == Counter(t.types)
    e1 = sorted(t.charges_e[i] for i in range(len(sym)) if sym[i] == "N")
    e2 = sorted(t2.charges_e[i] for i in range(len(alt.symbols)) if alt.symbols[i] == "N")
    assert e1 == e2


def test_single_atom_ions_use_element_type(clandp, lib):
    li = clandp_template(lib.get("Li"), clandp)
    assert li.types == ["Li"] and li.charges_e == [1.0] and li.sigma_A == [pytest.approx(2.126)]
    cl = clandp_template(lib.get("Cl"), clandp)
    assert cl.types == ["Cl"] and cl.charges_e == [-1.0]


def test_missing_parameter_names_the_atom_types(clandp, lib, tmp_path):
    text = (clandp / "il.ff").read_text().splitlines()
    text = [ln for ln in text if not ln.split()[:3] == ["CR", "NA", "harm"]]
    (tmp_path / "il.ff").write_text("\n".join(text) + "\n")
    (tmp_path / "c2c1im.zmat").write_text((clandp / "c2c1im.zmat").read_text())
    with pytest.raises(ForceFieldError, match=r"bond parameters for types (CR-NA|NA-CR)"):
        clandp_template(lib.get("EMIM"), tmp_path)
    with pytest.raises(ForceFieldError, match="no CL&P molecule file"):
        clandp_template(lib.get("NO3"), clandp)


# --------------------------------------------------------------------------------------------
# independent numpy evaluation of the CL&P energy (plain Coulomb, no cutoff)


def _dihedral(p, i, j, k, ll):
    b1, b2, b3 = p[j] - p[i], p[k] - p[j], p[ll] - p[k]
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    return np.arctan2(np.linalg.norm(b2) * b1 @ n2, n1 @ n2)


def _opls(phi, v):
    v1, v2, v3, v4 = v
    return 0.5 * (v1 * (1 + np.cos(phi)) + v2 * (1 - np.cos(2 * phi)) + v3 * (1 + np.cos(3 * phi)) + v4 * (1 - np.cos(4 * phi)))


def numpy_energy(atoms, templates, charge_scale):
    """Bonded + LJ (geometric) + Coulomb, 1-2/1-3 excluded, 1-4 x 0.5, by the definitions (kJ/mol)."""
    from scipy.sparse.csgraph import shortest_path

    p = atoms.positions
    n = len(atoms)
    q, sig, eps = np.zeros(n), np.zeros(n), np.zeros(n)
    graph = np.zeros((n, n))
    terms = dict.fromkeys(("bonds", "angles", "dihedrals", "impropers", "lj", "coulomb"), 0.0)
    mol_id = atoms.arrays["mol_id"]
    for m in np.unique(mol_id):
        idx = np.flatnonzero(mol_id == m)
        t = templates[atoms.arrays["mol_species"][idx[0]]]
        q[idx] = np.array(t.charges_e) * charge_scale
        sig[idx], eps[idx] = t.sigma_A, t.epsilon_kJ_mol
        for a, b, r0, k, _ in t.bonds:
            i, j = idx[a], idx[b]
            graph[i, j] = graph[j, i] = 1
            terms["bonds"] += 0.5 * k * (np.linalg.norm(p[i] - p[j]) - r0) ** 2
        for a, b, c, th0, k in t.angles:
            u, v = p[idx[a]] - p[idx[b]], p[idx[c]] - p[idx[b]]
            th = np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
            terms["angles"] += 0.5 * k * (th - np.radians(th0)) ** 2
        for a, b, c, d, v in t.torsions:
            terms["dihedrals"] += _opls(_dihedral(p, idx[a], idx[b], idx[c], idx[d]), v)
        for a, b, c, d, v in t.impropers:
            terms["impropers"] += _opls(_dihedral(p, idx[a], idx[b], idx[c], idx[d]), v)
    dist = shortest_path(graph, unweighted=True)
    for i, j in itertools.combinations(range(n), 2):
        nb = dist[i, j]
        if nb <= 2:
            continue
        s = 0.5 if nb == 3 else 1.0
        r = np.linalg.norm(p[i] - p[j])
        sij, eij = np.sqrt(sig[i] * sig[j]), np.sqrt(eps[i] * eps[j])
        terms["lj"] += s * 4 * eij * ((sij / r) ** 12 - (sij / r) ** 6)
        terms["coulomb"] += s * COULOMB_KJ_MOL_A * q[i] * q[j] / r
    return terms


@pytest.mark.parametrize("pair", [("EMIM", "BF4"), ("EMIM", "Cl"), ("TFSI", "Li")])
def test_openmm_energy_equals_numpy_evaluation(clandp, lib, pair):
    import openmm as mm

    t = {s: clandp_template(lib.get(s), clandp) for s in pair}
    atoms = grid_box(t, list(pair), cell_A=100.0, spacing_A=7.0, seed=3, pbc=False)
    atoms.rattle(0.05, seed=1)  # off the molecule files' minima so that every term contributes
    system, _ = build_system(atoms, t, charge_scale=0.8, nonbonded="nocutoff")
    ref = numpy_energy(atoms, t, 0.8)
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(atoms.positions * 0.1)
    by_group = {}
    for name, g in GROUPS.items():
        by_group[name] = ctx.getState(getEnergy=True, groups={g}).getPotentialEnergy()._value
    # 1-4 LJ and Coulomb sit in the NonbondedForce exceptions (group "coulomb") in OpenMM
    assert by_group["bonds"] == pytest.approx(ref["bonds"], rel=1e-9, abs=1e-9)
    assert by_group["angles"] == pytest.approx(ref["angles"], rel=1e-9, abs=1e-9)
    assert by_group["dihedrals"] == pytest.approx(ref["dihedrals"], rel=1e-8, abs=1e-9)
    assert by_group["impropers"] == pytest.approx(ref["impropers"], rel=1e-8, abs=1e-9)
    total = ctx.getState(getEnergy=True).getPotentialEnergy()._value
    assert total == pytest.approx(sum(ref.values()), rel=1e-8)
    assert by_group["coulomb"] + by_group["lj"] == pytest.approx(ref["lj"] + ref["coulomb"], rel=1e-8)
    assert abs(ref["lj"]) > 1.0 and ref["coulomb"] != 0.0 and ref["bonds"] > 0.1


def test_forces_are_minus_gradient_and_sum_to_zero_with_pme(clandp, lib):
    t = {s: clandp_template(lib.get(s), clandp) for s in ("EMIM", "BF4")}
    atoms = grid_box(t, ["EMIM", "BF4", "BF4", "EMIM"], cell_A=16.0, spacing_A=8.0, seed=5)
    atoms.rattle(0.02, seed=2)
    system, _ = build_system(atoms, t, charge_scale=0.8, cutoff_A=7.5, ewald_tolerance=1e-6)
    e0, f, ctx = openmm_energy_forces(system, atoms)
    assert np.abs(f.sum(axis=0)).max() < 1e-3 * np.abs(f).max()
    assert_forces_are_minus_fd_gradient(ctx, atoms, f, seed=0)


def test_constraints_hbonds_and_box_too_small(clandp, lib):
    t = {s: clandp_template(lib.get(s), clandp) for s in ("EMIM", "BF4")}
    atoms = grid_box(t, ["EMIM", "BF4"], cell_A=30.0, spacing_A=8.0)
    system, info = build_system(atoms, t, constraints="hbonds")
    assert info.n_constraints == 11 and system.getNumConstraints() == 11  # EMIM has 11 H
    _, info = build_system(atoms, t, constraints="cons")
    assert info.n_constraints == 11  # il.ff marks exactly the C-H bonds `cons`
    small = grid_box(t, ["EMIM", "BF4"], cell_A=20.0, spacing_A=8.0)
    from ilforge.errors import IlforgeError

    with pytest.raises(IlforgeError, match="twice the cutoff"):
        build_system(small, t, cutoff_A=12.0)


def test_water_and_full_charges(clandp, lib):
    t = clandp_template(lib.get("water"), clandp)
    assert t.types.count("Ow") == 1 and t.net_charge_e == pytest.approx(0.0, abs=1e-9)
    assert t.charges_e[t.types.index("Ow")] == pytest.approx(-0.8476)
