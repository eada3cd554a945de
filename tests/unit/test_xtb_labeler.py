"""GFN1/GFN2-xTB labeler: forces and stress against finite differences, failures, isolated atoms."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from ilforge.labels import LabelError
from ilforge.reference.isolated import atom_multiplicity, compute_isolated_atoms, ion_multiplicity
from ilforge.reference.xtb import XTBLabeler
from ilforge.store.frames import FrameStore

pytest.importorskip("tblite")


def _periodic_water_pair():
    a = molecule("H2O")
    b = molecule("H2O")
    b.positions += [2.8, 0.3, 0.2]
    w = a + b
    w.cell = [6.0, 5.5, 5.8]
    w.center()
    w.pbc = True
    return w


def test_forces_and_stress_match_finite_differences():
    lab = XTBLabeler("GFN1-xTB")
    w = _periodic_water_pair()
    ref = lab.label(w)
    h = 1e-4
    for i, k in [(0, 0), (1, 1), (4, 2)]:
        e = []
        for s in (1, -1):
            b = w.copy()
            b.positions[i, k] += s * h
            e.append(lab.label(b).energy)
        assert ref.forces[i, k] == pytest.approx(-(e[0] - e[1]) / (2 * h), abs=1e-4)
    # stress σ_ij = (1/V) ∂E/∂ε_ij: homogeneous strain of cell and positions
    eps = 1e-4
    for voigt, (i, j) in [(0, (0, 0)), (2, (2, 2)), (5, (0, 1))]:
        e = []
        for s in (1, -1):
            strain = np.eye(3)
            strain[i, j] += s * eps
            if i != j:
                strain[j, i] += s * eps
            b = w.copy()
            b.set_cell(w.cell[:] @ strain, scale_atoms=True)
            e.append(lab.label(b).energy)
        dE = (e[0] - e[1]) / (2 * eps) / (2 if i != j else 1)
        assert ref.stress[voigt] == pytest.approx(dE / w.get_volume(), abs=2e-5)
    assert np.abs(ref.forces.sum(axis=0)).max() < 1e-6


def test_level_of_theory_and_bad_settings():
    assert XTBLabeler("GFN2-xTB", electronic_temperature_K=500).level_of_theory == "xtb:GFN2-xTB;etemp=500K;acc=1"
    with pytest.raises(LabelError, match="unknown method"):
        XTBLabeler("GFN9-xTB")


def test_scf_not_converged_is_recorded_not_retried():
    lab = XTBLabeler("GFN1-xTB", max_iterations=2)
    with pytest.raises(LabelError, match="SCF not converged") as info:
        lab.label(_periodic_water_pair())
    assert info.value.retryable is False


def test_mixed_periodicity_is_refused():
    a = _periodic_water_pair()
    a.pbc = [True, True, False]
    with pytest.raises(LabelError, match="mixed periodicity"):
        XTBLabeler().label(a)


def test_isolated_atoms_stored_with_ground_state_spin(tmp_path):
    assert [atom_multiplicity(s) for s in "HCNOFB"] == [2, 3, 4, 3, 2, 2]
    assert ion_multiplicity(["B", "F", "F", "F", "F"], -1) == 1  # BF4-: 40 electrons
    lab = XTBLabeler("GFN1-xTB")
    store = FrameStore.open(tmp_path / "frames.db")
    e0 = compute_isolated_atoms(lab, store, ["O", "H", "H"])
    assert set(e0) == {"H", "O"}
    assert store.isolated_energies(lab.level_of_theory) == e0
    assert e0["O"] == pytest.approx(lab.isolated_energy("O", 0, 3))
    frames = store.isolated_atom_frames(lab.level_of_theory)
    assert {f.info["spin_multiplicity"] for f in frames} == {2, 3}
    # water is bound with respect to its atoms (GFN1 overbinds: ~ -17 eV vs ~ -10 eV measured;
    # xTB atomic energies are not fitted to atomisation energies)
    water = molecule("H2O")
    e_bind = lab.isolated_energy(water) - e0["O"] - 2 * e0["H"]
    assert -25 < e_bind < -5
    assert lab.isolated_energy(Atoms("Li"), charge=1, spin_multiplicity=1) != lab.isolated_energy("Li", 0, 2)
