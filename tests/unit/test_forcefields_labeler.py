"""The classical labeler: units, stress by strain derivative (checked against ASE's numerical stress)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openmm")

from _ff_helpers import grid_box, openmm_energy_forces  # noqa: E402

from ilforge import units  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.forcefields.openmm_system import build_system  # noqa: E402
from ilforge.reference.classical import ClassicalLabeler, reduced_cell  # noqa: E402


@pytest.fixture
def setup(clandp):
    lib = load_library()
    t = {s: clandp_template(lib.get(s), clandp) for s in ("EMIM", "BF4")}
    atoms = grid_box(t, ["EMIM", "BF4", "BF4", "EMIM"], cell_A=16.0, spacing_A=8.0, seed=7)
    atoms.rattle(0.03, seed=1)
    return t, atoms


def test_labels_units_match_openmm(setup):
    t, atoms = setup
    lab = ClassicalLabeler(t, "CL&P(q*0.8)", charge_scale=0.8, cutoff_A=7.5, ewald_tolerance=1e-6, compute_stress=False)
    labels = lab.label(atoms)
    system, _ = build_system(atoms, t, charge_scale=0.8, cutoff_A=7.5, ewald_tolerance=1e-6)
    e, f, _ = openmm_energy_forces(system, atoms)
    assert labels.energy == pytest.approx(e * units.KJ_MOL, rel=1e-6)
    assert np.allclose(labels.forces, f * units.KJ_MOL / 10.0, rtol=1e-5, atol=1e-6)
    assert lab.level_of_theory.startswith("classical:CL&P")


def test_reduced_cell_is_lower_triangular_rotation():
    cell = np.array([[10.0, 0.3, -0.2], [0.4, 11.0, 0.1], [-0.3, 0.2, 12.0]])
    new, rot = reduced_cell(cell)
    assert np.allclose(new, cell @ rot) and np.allclose(rot @ rot.T, np.eye(3))
    assert new[0, 1] == 0 and new[0, 2] == 0 and new[1, 2] == 0 and np.all(np.diag(new) > 0)


def test_stress_equals_one_component_strain_derivative_and_forces_rotate(setup):
    """ASE's numerical stress strains one Cartesian component at a time (x[i, j] += d: a
    non-symmetric deformation that includes a rotation) - an independent route to the same
    σ = (1/V) dE/dε when the energy is rotation invariant. Redone here on the labeler's energy."""
    t, atoms = setup
    lab = ClassicalLabeler(t, "CL&P(q*0.8)", charge_scale=0.8, cutoff_A=7.5)
    lab_e = ClassicalLabeler(t, "CL&P(q*0.8)", charge_scale=0.8, cutoff_A=7.5, compute_stress=False)
    labels = lab.label(atoms)
    cell, vol, d = atoms.cell[:], atoms.get_volume(), 1e-5
    full = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            e = []
            for s in (d, -d):
                x = np.eye(3)
                x[i, j] += s
                a = atoms.copy()
                a.set_cell(cell @ x, scale_atoms=True)
                e.append(lab_e.label(a).energy)
            full[i, j] = (e[0] - e[1]) / (2 * d * vol)
    full = 0.5 * (full + full.T)
    ref = np.array([full[0, 0], full[1, 1], full[2, 2], full[1, 2], full[0, 2], full[0, 1]])
    assert np.allclose(labels.stress, ref, rtol=1e-3, atol=2e-7)
    assert np.abs(labels.stress).max() > 1e-4  # a far-from-equilibrium box has real stress
    # a rigidly rotated copy (a cell OpenMM cannot take as is) gives rotated forces, same energy
    from scipy.spatial.transform import Rotation

    rot = Rotation.from_euler("xyz", [10, 20, 30], degrees=True).as_matrix()
    rc = atoms.copy()
    rc.set_cell(atoms.cell[:] @ rot.T, scale_atoms=False)
    rc.positions = atoms.positions @ rot.T
    l2 = lab_e.label(rc)
    assert l2.energy == pytest.approx(labels.energy, rel=1e-8)
    assert np.allclose(l2.forces, labels.forces @ rot.T, atol=1e-5)


def test_labeler_from_recipe_uses_the_recipe_forcefield(setup, clandp):
    from ilforge.recipe import recipe_from_dict

    t, atoms = setup
    recipe = recipe_from_dict({
        "name": "t",
        "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": 2},
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", "path": str(clandp), "charge_scale": 0.7, "cutoff_A": 7.5},
    })
    lab = ClassicalLabeler.from_recipe(recipe, compute_stress=False)
    assert lab.level_of_theory == "classical:CL&P(q*0.7);cutoff=7.5A;switch=1A;ewald=1e-05;tail=on"
    direct = ClassicalLabeler(t, "x", charge_scale=0.7, cutoff_A=7.5, compute_stress=False)
    assert lab.label(atoms).energy == pytest.approx(direct.label(atoms).energy, rel=1e-10)
    with pytest.raises(Exception, match="mol_id"):
        bare = atoms.copy()
        del bare.arrays["mol_id"]
        lab.label(bare)
