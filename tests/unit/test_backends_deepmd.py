"""The DeePMD backend's host side (no environment needed): data systems, virial sign, input, sel, export."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from emt_frames import alloy_frames  # noqa: E402

from ilforge import keys  # noqa: E402
from ilforge.models import deepmd_backend as dpb  # noqa: E402
from ilforge.models.artifact import ModelArtifact  # noqa: E402
from ilforge.models.deepmd_settings import DeepmdSettings  # noqa: E402
from ilforge.models.e0s import E0s  # noqa: E402
from ilforge.models.registry import backend_names, settings_from_dict  # noqa: E402
from ilforge.models.testing import numerical_stress  # noqa: E402


def test_virial_is_minus_the_strain_derivative_of_the_energy():
    """DeePMD's virial W_ij = −∂E/∂ε_ij = −σ_ij V: from the EMT stress, against finite differences."""
    from ase.calculators.emt import EMT

    a = bulk("Cu", "fcc", a=3.7, cubic=True)
    a.rattle(0.05, seed=1)
    a.calc = EMT()
    w = dpb.virial_from_stress(a.get_stress(voigt=True), a.get_volume()).reshape(3, 3)
    fd = numerical_stress(EMT(), a) * a.get_volume()  # (∂E/∂ε) Voigt
    dedeps = np.array([[fd[0], fd[5], fd[4]], [fd[5], fd[1], fd[3]], [fd[4], fd[3], fd[2]]])
    np.testing.assert_allclose(w, -dedeps, atol=1e-6)


def test_systems_group_atoms_and_subtract_e0s(tmp_path):
    frames = alloy_frames(6, seed=1, repeat=(1, 1, 2))  # three Au fractions (random sites): three systems
    e0s = {"Cu": -1.5, "Au": -2.5}
    paths = dpb.write_deepmd_systems(frames, tmp_path, ["Cu", "Au"], e0s)
    assert len(paths) == 3
    first = Path(paths[0])
    types = np.loadtxt(first / "type.raw", dtype=int)
    assert (first / "type_map.raw").read_text().split() == ["Cu", "Au"]
    energy = np.load(first / "set.000" / "energy.npy")
    n_cu, n_au = int((types == 0).sum()), int((types == 1).sum())
    assert energy[0] == pytest.approx(frames[0].info[keys.REF_ENERGY] - (-1.5 * n_cu - 2.5 * n_au))
    assert np.load(first / "set.000" / "coord.npy").shape == (2, 3 * len(frames[0]))
    assert np.load(first / "set.000" / "virial.npy").shape == (2, 9)
    assert list(types) == sorted(types)  # atoms ordered by type
    order = np.argsort([["Cu", "Au"].index(s) for s in frames[0].get_chemical_symbols()], kind="stable")
    np.testing.assert_allclose(np.load(first / "set.000" / "force.npy")[0], frames[0].arrays[keys.REF_FORCES][order].reshape(-1))
    np.testing.assert_allclose(np.load(first / "set.000" / "coord.npy")[0], frames[0].positions[order].reshape(-1))


def test_input_steps_sel_and_vacuum_energy():
    frames = alloy_frames(10, seed=1, repeat=(1, 1, 2))
    s = DeepmdSettings(max_epochs=7, batch_size=3, seed=4, stress_weight=2.0)
    sel = dpb.estimate_sel(frames, ["Cu", "Au"], 6.0)
    doc = dpb.deepmd_input(s, ["Cu", "Au"], sel, (["a"], ["b"]), frames, 3, 2)
    assert doc["training"]["numb_steps"] == 7 * 4  # ceil(10 / 3) batches per epoch
    assert doc["model"]["fitting_net"]["atom_ener"] == [0.0, 0.0] and doc["model"]["descriptor"]["set_davg_zero"]
    assert doc["model"]["descriptor"]["rcut"] == 6.0 and doc["model"]["descriptor"]["neuron"] == [10, 20, 40]
    n_over_v2 = np.mean([len(a) / a.get_volume() ** 2 for a in frames])
    assert doc["loss"]["limit_pref_v"] == pytest.approx(2.0 * n_over_v2)
    from ase.neighborlist import neighbor_list

    i, _ = neighbor_list("ij", frames[0], 6.0)
    assert sel["Cu"] + sel["Au"] >= np.bincount(i).max()


def test_settings_registered_and_presets():
    assert "deepmd" in backend_names()
    s = settings_from_dict({"backend": "deepmd", "preset": "medium", "rcut_A": 5.0})
    assert isinstance(s, DeepmdSettings) and s.architecture()["fitting_neuron"] == [240, 240, 240] and s.architecture()["rcut_A"] == 5.0


def test_lcurve_rows(tmp_path):
    (tmp_path / "lcurve.out").write_text("#  step rmse_val rmse_trn rmse_e_val rmse_e_trn rmse_f_val rmse_f_trn lr\n"
                                         "0 1 1 1 1 1 1 1e-3\n4 2.0 3.0 0.010 0.02 0.5 0.6 1e-4\n8 1.0 1.5 0.005 0.01 0.25 0.3 1e-5\n")
    rows = dpb.read_lcurve(tmp_path / "lcurve.out", spe=4)
    assert [r["epochs"] for r in rows] == [1, 2]
    assert rows[1]["valid_energy_rmse_meV_atom"] == pytest.approx(5.0) and rows[0]["valid_forces_rmse_meV_A"] == pytest.approx(500.0)


def test_export_writes_lammps_files(tmp_path):
    from ilforge.models.data import write_frames
    from ilforge.models.export import export_lammps

    d = tmp_path / "model"
    d.mkdir()
    (d / "model.pb").write_bytes(b"frozen")
    frames = alloy_frames(2, seed=3, repeat=(1, 1, 2), au_fractions=(0.5,))
    write_frames(d / dpb.TRAIN_FILE, frames)
    write_frames(d / dpb.VALID_FILE, frames[1:])
    ModelArtifact(d, {"backend": "deepmd", "model_file": "model.pb", "elements": ["Cu", "Au"],
                      "e0s": E0s({"Cu": -1.0, "Au": -2.0}, "isolated").to_json()}).save()
    exp = export_lammps(d, tmp_path / "lmp", temperature_K=350, pressure_bar=10, steps=100)
    text = (exp.directory / "in.lammps").read_text()
    assert "pair_style deepmd model.pb" in text and "pair_coeff * * Cu Au" in text
    assert "fix npt all npt temp 350 350" in text and "iso 10 10" in text and "timestep 0.0005" in text
    n_au = frames[0].get_chemical_symbols().count("Au")
    assert exp.e0_offset_eV == pytest.approx(-1.0 * (len(frames[0]) - n_au) - 2.0 * n_au)
    import ase.io

    back = ase.io.read(exp.directory / "box.data", format="lammps-data", atom_style="atomic", units="metal")
    assert len(back) == len(frames[0]) and (exp.directory / "model.pb").read_bytes() == b"frozen"
    np.testing.assert_allclose(back.cell.lengths(), frames[0].cell.lengths(), atol=1e-6)
