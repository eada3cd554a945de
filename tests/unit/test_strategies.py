"""Data strategies: rattles, volume scans (rigid molecules), reference MD and relaxation through a labeler."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule

from ilforge import keys
from ilforge.reference import strategies
from ilforge.reference.ase_calc import ASECalculatorLabeler
from ilforge.reference.registry import labeler_class, make_labeler
from ilforge.reference.settings import LabelSettings
from ilforge.errors import RecipeError


def _two_waters():
    a, b = molecule("H2O"), molecule("H2O")
    b.positions += [3.0, 0.0, 0.0]
    w = a + b
    w.cell = [7, 7, 7]
    w.center()
    w.pbc = True
    w.arrays[keys.MOL_ID] = np.array([0, 0, 0, 1, 1, 1])
    w.arrays[keys.MOL_SPECIES] = np.array(["H2O"] * 6)
    w.info.update({keys.COMPOSITION_ID: "c", keys.TEMPERATURE_K: 300.0, keys.FRAME_HASH: "abc"})
    return w


def test_rattle_is_seeded_and_gaussian():
    w = _two_waters()
    a = strategies.rattle(w, 50, 0.05, seed=1)
    b = strategies.rattle(w, 50, 0.05, seed=1)
    assert all(np.array_equal(x.positions, y.positions) for x, y in zip(a, b))
    d = np.concatenate([x.positions - w.positions for x in a]).ravel()
    assert d.std() == pytest.approx(0.05, rel=0.05) and abs(d.mean()) < 0.005
    assert a[0].info[keys.PARENT_HASH] == "abc" and a[0].info[keys.CONFIG_TYPE] == keys.CT_RATTLE
    assert keys.FRAME_HASH not in a[0].info  # a child is a new frame


def test_volume_scan_keeps_molecules_rigid():
    w = _two_waters()
    (big,) = strategies.volume_scan(w, [10.0])
    assert big.get_volume() == pytest.approx(1.1 * w.get_volume())
    for m in (0, 1):
        idx = w.arrays[keys.MOL_ID] == m
        d0 = w.positions[idx] - w.positions[idx][0]
        d1 = big.positions[idx] - big.positions[idx][0]
        np.testing.assert_allclose(d0, d1, atol=1e-12)  # internal geometry unchanged
    com = lambda a, i: a[a.arrays[keys.MOL_ID] == i].get_center_of_mass()  # noqa: E731
    s = 1.1 ** (1 / 3)
    np.testing.assert_allclose(com(big, 1) - com(big, 0), s * (com(w, 1) - com(w, 0)), atol=1e-10)


def _emt():
    return ASECalculatorLabeler("ase.calculators.lj:LennardJones", {"sigma": 2.5, "epsilon": 0.01, "rc": 3.4})


def test_reference_md_keeps_every_kth_step_with_its_labels():
    w = _two_waters()
    lab = _emt()
    out = strategies.reference_md(w, lab, steps=6, keep_every=2, timestep_fs=0.5, temperature_K=300,
                                  friction_per_ps=10.0, seed=4)
    assert len(out) == 3
    for atoms, labels in out:
        assert atoms.info[keys.CONFIG_TYPE] == keys.CT_REFERENCE_MD and atoms.info[keys.PARENT_HASH] == "abc"
        assert labels.energy == pytest.approx(lab.label(atoms).energy)  # the labels belong to that geometry
        np.testing.assert_allclose(labels.forces, lab.label(atoms).forces)
    again = strategies.reference_md(w, lab, 6, 2, 0.5, 300, 10.0, seed=4)
    np.testing.assert_array_equal(out[-1][0].positions, again[-1][0].positions)


def test_relax_lowers_the_energy():
    w = _two_waters()
    lab = _emt()
    out = strategies.relax(w, lab, steps=3, keep_every=1, fmax_eV_A=1e-6)
    assert 1 <= len(out) <= 3
    assert out[-1][1].energy < lab.label(w).energy
    assert out[-1][1].energy == pytest.approx(lab.label(out[-1][0]).energy)


def test_registry():
    assert labeler_class("xtb").__name__ == "XTBLabeler"
    lab = make_labeler(LabelSettings(labeler="xtb", method="GFN2-xTB", options={"electronic_temperature_K": 1000}))
    assert lab.level_of_theory.startswith("xtb:GFN2-xTB;etemp=1000K")
    with pytest.raises(RecipeError, match="accepted settings"):
        make_labeler(LabelSettings(labeler="xtb", options={"etemp": 5}))


def test_reference_md_friction_is_per_ps(monkeypatch):
    """γ = 10/ps reaches ASE's Langevin as 10 / (1000 fs) in ASE's inverse time units (= 0.01/fs)."""
    import ase.md.langevin
    from ase import units as ase_units

    seen = {}
    real = ase.md.langevin.Langevin

    def spy(*args, **kwargs):
        seen.update(kwargs, timestep=args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(ase.md.langevin, "Langevin", spy)
    strategies.reference_md(_two_waters(), _emt(), 1, 1, 0.5, 300, 10.0, seed=4)
    assert seen["friction"] == pytest.approx(0.01 / ase_units.fs, rel=1e-12)
    assert seen["timestep"] == pytest.approx(0.5 * ase_units.fs, rel=1e-12)


def test_labeler_calculator_keeps_the_last_labels_and_refuses_missing_stress():
    from ilforge.errors import IlforgeError
    from ilforge.labels import Labels
    from ilforge.reference.base import Labeler
    from ilforge.reference.calculator import LabelerCalculator

    class NoStress(Labeler):
        level_of_theory = "toy"

        def label(self, atoms):
            return Labels(-float(len(atoms)), np.ones((len(atoms), 3)))

    w = _two_waters()
    w.calc = calc = LabelerCalculator(NoStress())
    assert w.get_potential_energy() == -6.0 and calc.last_labels.energy == -6.0
    np.testing.assert_array_equal(w.get_forces(), np.ones((6, 3)))
    with pytest.raises(IlforgeError, match="no stress"):
        w.get_stress()


def test_old_friction_key_says_how_to_convert():
    from pydantic import ValidationError

    from ilforge.reference.settings import ReferenceMDStrategy

    assert ReferenceMDStrategy().friction_per_ps == 10.0
    with pytest.raises(ValidationError, match="friction_per_ps: 20"):
        ReferenceMDStrategy.model_validate({"friction_per_fs": 0.02})


def test_contact_scan_shortens_the_closest_contact_rigidly_across_the_cell_edge():
    """The closest intermolecular H···O pair (here across the periodic boundary) ends at exactly d,
    the moved molecule keeps its shape, the other does not move, and no copy is made at d >= r0."""
    from ase.geometry import get_distances

    w = _two_waters()
    w.positions[3:] += [1.6, 0.0, 0.0]  # second water 4.6 Å to the right: 2.4 Å through the edge (7 Å cell)
    w.wrap()
    from ilforge.sample.perturb import closest_contact

    i, j, r = closest_contact(w, "H", "O")
    r0 = float(np.linalg.norm(r))
    assert 2.0 < r0 < 4.0
    kids = strategies.contact_scan(w, [("H", "O")], [1.5, 1.8, r0 + 0.5])
    assert [k.info[keys.CONFIG_TYPE] for k in kids] == [keys.CT_CONTACT_SCAN] * 2
    for k, d in zip(kids, [1.5, 1.8]):
        sym, mol = np.array(k.get_chemical_symbols()), k.arrays[keys.MOL_ID]
        _, dist = get_distances(k.positions[sym == "H"], k.positions[sym == "O"], cell=k.cell, pbc=True)
        inter = dist[mol[sym == "H"][:, None] != mol[sym == "O"][None, :]]
        assert inter.min() == pytest.approx(d, abs=1e-9)
        moved = mol == mol[j]
        assert np.allclose(k.positions[~moved], w.positions[~moved])
        shift = k.positions[moved] - w.positions[moved]
        assert np.allclose(shift, shift[0]) and np.dot(shift[0], r) < 0  # one rigid step toward atom i
        assert k.info[keys.PARENT_HASH] == "abc"


def test_contact_scan_settings_refuse_bad_input():
    from pydantic import ValidationError

    from ilforge.reference.settings import ContactScanStrategy

    with pytest.raises(ValidationError, match="not element symbols"):
        ContactScanStrategy(pairs=[["H", "Xx"]])
    with pytest.raises(ValidationError, match="> 0.5"):
        ContactScanStrategy(pairs=[["H", "F"]], distances_A=[0.2])
