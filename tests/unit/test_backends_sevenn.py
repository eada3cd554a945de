"""SevenNet backend and labeler, the parts that run without the sevenn environment: the shift refit's
least squares, the fine-tuning input, the learning curve, settings and registration."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.models.registry import backend_names, settings_from_dict
from ilforge.models.sevenn_backend import train_input, read_lc, refit_shifts
from ilforge.models.sevenn_settings import SevennSettings


def test_refit_recovers_per_element_shifts_when_the_counts_determine_them():
    counts = np.array([[2, 1], [1, 3], [4, 4], [0, 2]], dtype=float)
    true = np.array([-3.5, 12.0])
    r = counts @ true + np.array([0.01, -0.02, 0.0, 0.01])  # small interaction residuals
    out = refit_shifts(counts, r, ["H", "O"])
    assert out["rank"] == 2 and out["undetermined"] == []
    assert out["delta_eV"]["H"] == pytest.approx(-3.5, abs=0.02)
    assert out["delta_eV"]["O"] == pytest.approx(12.0, abs=0.02)
    assert out["rmse_per_atom_after_eV"] < 0.01 < out["rmse_per_atom_before_eV"]


def test_rank_deficient_refit_fits_the_determined_combination_and_takes_the_rest_from_isolated_atoms():
    counts = np.array([[1, 2], [2, 4], [3, 6]], dtype=float)  # one element ratio: rank 1
    r = counts @ np.array([3.0, 1.0])  # E_C + 2 E_H = 5 is all the frames say
    free = refit_shifts(counts, r, ["C", "H"])
    assert free["rank"] == 1 and len(free["undetermined"]) == 1 and not free["from_isolated"]
    d = np.array([free["delta_eV"]["C"], free["delta_eV"]["H"]])
    assert counts @ d == pytest.approx(r)  # the frames' energies are fitted exactly
    assert d == pytest.approx([1.0, 2.0])  # minimum norm: along (1, 2), nothing along the null direction (2, -1)
    iso = refit_shifts(counts, r, ["C", "H"], {"C": 3.0, "H": 1.0})
    assert iso["from_isolated"]
    assert [iso["delta_eV"]["C"], iso["delta_eV"]["H"]] == pytest.approx([3.0, 1.0])  # null-space part from isolated
    assert counts @ np.array([iso["delta_eV"]["C"], iso["delta_eV"]["H"]]) == pytest.approx(r)


def test_train_input_carries_ilforge_settings():
    s = SevennSettings(max_epochs=7, batch_size=3, learning_rate=0.002, forces_weight=20.0, energy_weight=2.0, seed=4)
    doc = train_input(s, "./base.pth", with_stress=True)
    assert doc["train"]["epoch"] == 7 and doc["data"]["batch_size"] == 3
    assert doc["train"]["optim_param"]["lr"] == 0.002 and doc["train"]["force_loss_weight"] == 10.0
    assert doc["train"]["continue"]["checkpoint"] == "./base.pth" and doc["train"]["random_seed"] == 4
    assert doc["data"]["data_format_args"]["energy_key"] == keys.REF_ENERGY
    assert doc["data"]["data_format_args"]["stress_key"] == keys.REF_STRESS and doc["train"]["is_train_stress"]
    assert doc["model"]["train_shift_scale"] is False
    no_stress = train_input(s, "./base.pth", with_stress=False)
    assert "stress_key" not in no_stress["data"]["data_format_args"] and not no_stress["train"]["is_train_stress"]


def test_scratch_input_has_an_architecture_and_no_checkpoint():
    s = SevennSettings(preset="scratch", channel=8, lmax=1, num_convolution_layer=2, cutoff_A=4.5, max_epochs=3)
    doc = train_input(s, None, with_stress=True)
    assert "continue" not in doc["train"] and doc["train"]["epoch"] == 3
    assert {k: doc["model"][k] for k in ("channel", "lmax", "num_convolution_layer", "cutoff")} == \
        {"channel": 8, "lmax": 1, "num_convolution_layer": 2, "cutoff": 4.5}
    assert doc["data"]["shift"] == "elemwise_reference_energies" and doc["data"]["scale"] == "force_rms"
    tune = train_input(s, "./base.pth", with_stress=True)  # the fine-tune's architecture comes from its checkpoint
    assert "channel" not in tune["model"] and "shift" not in tune["data"]


def test_read_lc_converts_to_mev(tmp_path):
    (tmp_path / "lc.csv").write_text("epoch,lr,trainset_Energy_RMSE,trainset_TotalLoss,validset_Energy_RMSE,"
                                     "validset_Force_RMSE,validset_TotalLoss\n1,0.004,0.5,2.0,0.25,0.125,1.5\n")
    (row,) = read_lc(tmp_path / "lc.csv")
    assert row["epochs"] == 1 and row["valid_loss"] == 1.5 and row["train_loss"] == 2.0
    assert row["valid_energy_rmse_meV_atom"] == pytest.approx(250.0)
    assert row["valid_forces_rmse_meV_A"] == pytest.approx(125.0)


def test_settings_and_registration():
    assert "sevenn" in backend_names()
    s = settings_from_dict({"backend": "sevenn", "preset": "zero_shot"})
    assert isinstance(s, SevennSettings) and s.foundation_model == "7net-0" and s.dtype == "float32"
    with pytest.raises(Exception):
        settings_from_dict({"backend": "sevenn", "dtype": "float64"})  # sevenn refuses double precision
    with pytest.raises(Exception):
        settings_from_dict({"backend": "sevenn", "preset": "from_nothing"})
    assert settings_from_dict({"backend": "sevenn", "preset": "scratch", "channel": 8}).channel == 8


def test_labeler_level_of_theory_and_refusals():
    from ilforge.labels import LabelError
    from ilforge.reference.registry import make_labeler
    from ilforge.reference.settings import LabelSettings

    lab = make_labeler(LabelSettings(labeler="sevennet", options={"model": "7net-0"}))
    assert lab.level_of_theory == "sevennet:7net-0"
    assert make_labeler(LabelSettings(labeler="sevennet", method="7net-l3i5")).level_of_theory == "sevennet:7net-l3i5"
    with pytest.raises(LabelError, match="unknown model"):
        make_labeler(LabelSettings(labeler="sevennet", options={"model": "mace-mp-0"}))
    with pytest.raises(LabelError, match="charge"):
        lab.isolated_energy("F", charge=-1)
    pytest.importorskip("dftd3.interface")
    d3 = make_labeler(LabelSettings(labeler="sevennet", dispersion="d3bj"))  # SevenNet-0 is PBE: PBE's D3 parameters
    assert d3.level_of_theory == "sevennet:7net-0;+D3(BJ):pbe"


def test_reference_check_skips_sevennet_without_its_environment(tmp_path, monkeypatch):
    from ilforge.reference import check

    monkeypatch.setenv("ILFORGE_ENVS_DIR", str(tmp_path))
    assert "ilforge env create sevenn" in check._sevennet_skip()
    (tmp_path / "x").mkdir()
    from ilforge.envs.manager import env_dir

    env_dir("sevenn").mkdir(parents=True)
    (env_dir("sevenn") / "ready.json").write_text("{}")
    assert check._sevennet_skip() is None
    assert check._sevennet().level_of_theory == "sevennet:7net-0"


def test_shift_refit_only_touches_elements_present():
    counts = np.array([[3, 0], [1, 1]], dtype=float)
    out = refit_shifts(counts, np.array([3.0, 1.5]), ["Li", "F"])
    assert set(out["delta_eV"]) == {"Li", "F"}
    assert out["delta_eV"]["Li"] == pytest.approx(1.0) and out["delta_eV"]["F"] == pytest.approx(0.5)
    assert Atoms("LiF").get_chemical_symbols() == ["Li", "F"]


def test_a_pretrained_name_passes_the_foundation_check_a_missing_mace_file_does_not(tmp_path):
    """`ilforge run` with backend sevenn: 7net-0 is a name sevenn resolves, not a path (it stopped the
    pipeline before training); MACE's foundation_model is a path and a missing one is still refused."""
    from ilforge.errors import IlforgeError
    from ilforge.models.stage import check_foundation

    check_foundation(SevennSettings(preset="zero_shot"))
    with pytest.raises(IlforgeError, match="not found"):
        check_foundation(settings_from_dict({"backend": "mace", "foundation_model": str(tmp_path / "missing.model")}))
