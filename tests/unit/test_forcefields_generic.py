"""Generic force field (UFF + GFN2-xTB geometry and charges): parameters, caching, exact forces."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openmm")
pytest.importorskip("tblite")

from _ff_helpers import assert_forces_are_minus_fd_gradient, grid_box, openmm_energy_forces  # noqa: E402

from ilforge.chem.species import load_library  # noqa: E402
from ilforge.forcefields.generic import generic_template, xtb_isolated  # noqa: E402
from ilforge.forcefields.openmm_system import build_system  # noqa: E402


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    cache = tmp_path_factory.mktemp("generic_cache")
    lib = load_library()
    return {s: generic_template(lib.get(s), cache_dir=cache) for s in ("EMIM", "PF6", "Li")}, cache


def test_charges_sum_to_formal_charge_and_pf6_is_octahedral(templates):
    t, _ = templates
    assert t["EMIM"].net_charge_e == pytest.approx(1.0, abs=1e-6)
    assert t["PF6"].net_charge_e == pytest.approx(-1.0, abs=1e-6)
    assert t["Li"].charges_e == [1.0]
    # UFF alone would make PF6- tetrahedral; the xTB geometry gives 12 x 90 deg and 3 x 180 deg
    th = sorted(round(a[3]) for a in t["PF6"].angles)
    assert th == [90] * 12 + [180] * 3
    assert all(a[4] > 0 for a in t["PF6"].angles)
    # the EMIM ring keeps its planarity through impropers on the five sp2 ring atoms
    assert len(t["EMIM"].impropers) == 5


def test_xtb_results_are_cached(templates):
    t, cache = templates
    files = sorted(cache.glob("EMIM_*.json"))
    assert len(files) == 1
    lib = load_library()
    again = xtb_isolated(lib.get("EMIM"), cache_dir=cache)
    assert np.allclose(again["positions_A"], t["EMIM"].positions_A)
    assert again["charge_model"].startswith("Mulliken")


def test_generic_forces_are_minus_gradient_and_sum_to_zero(templates):
    t, _ = templates
    atoms = grid_box(t, ["EMIM", "PF6", "Li", "PF6"], cell_A=16.0, spacing_A=8.0, seed=4)
    atoms.rattle(0.02, seed=3)
    system, _ = build_system(atoms, t, charge_scale=0.8, cutoff_A=7.5, ewald_tolerance=1e-6)
    _, f, ctx = openmm_energy_forces(system, atoms)
    assert np.abs(f.sum(axis=0)).max() < 1e-3 * np.abs(f).max()
    assert_forces_are_minus_fd_gradient(ctx, atoms, f, seed=1)


def test_xtb_geometry_is_a_minimum_of_the_bonded_terms(templates):
    """At the xTB geometry every bond and angle term sits at its minimum (r = r0, θ = θ0)."""
    t, _ = templates
    import openmm as mm

    atoms = grid_box(t, ["PF6"], cell_A=100.0, spacing_A=8.0, seed=0, pbc=False)
    system, _ = build_system(atoms, t, nonbonded="nocutoff")
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(atoms.positions * 0.1)
    for g in (0, 1):
        assert ctx.getState(getEnergy=True, groups={g}).getPotentialEnergy()._value == pytest.approx(0.0, abs=1e-6)
