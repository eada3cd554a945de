"""The apax backend's host side (no environment needed): settings, config, labels, ensemble bytes, export."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from emt_frames import alloy_frames  # noqa: E402

from ilforge import keys  # noqa: E402
from ilforge.errors import IlforgeError  # noqa: E402
from ilforge.models import apax_backend as apb  # noqa: E402
from ilforge.models.apax_settings import PRESETS, ApaxSettings  # noqa: E402
from ilforge.models.registry import backend_class, backend_names, settings_from_dict  # noqa: E402


def test_registered_with_its_settings_and_a_native_ensemble():
    assert "apax" in backend_names()
    s = settings_from_dict({"backend": "apax", "preset": "medium", "nn": [32, 16], "committee_size": 3})
    assert isinstance(s, ApaxSettings) and backend_class("apax").native_ensemble
    arch = s.architecture()
    assert arch["nn"] == [32, 16] and arch["r_max_A"] == PRESETS["medium"]["r_max_A"] == 5.5
    assert s.n_members() == 3 and ApaxSettings(ensemble_members=4).n_members() == 4 and ApaxSettings().n_members() == 1


@pytest.mark.parametrize("bad", [{"nn": [8, 0]}, {"nn": []}, {"n_contr": 9}, {"ensemble_members": 1}, {"r_max_A": -1.0},
                                 {"ensemble_loss": "l1"}, {"preset": "large"}, {"no_such_field": 1}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        ApaxSettings.model_validate(bad)


def test_config_sizes_losses_and_ensemble():
    s = ApaxSettings(max_epochs=7, batch_size=8, seed=3, energy_weight=2.0, forces_weight=9.0, r_max_A=4.5, nn=[16])
    doc = apb.apax_config(s, n_train=5, n_valid=50)
    assert doc["n_epochs"] == 7 and doc["seed"] == 3
    assert doc["data"]["batch_size"] == 5 and doc["data"]["valid_batch_size"] == 32  # capped by the frames, 32
    m = doc["model"]
    assert m["basis"] == {"name": "bessel", "n_basis": 8, "r_max": 4.5} and m["nn"] == [16] and m["ensemble"] is None
    assert m["descriptor_dtype"] == m["readout_dtype"] == "fp64" and m["calc_stress"] is False
    energy, forces = doc["loss"]
    # ilforge's w_E (ΔE/N)² is apax's ΔE²/N^2; w_F per component is apax's Σ_xyz ΔF² / N with weight w_F/3
    assert (energy["loss_type"], energy["weight"], energy["atoms_exponent"]) == ("mse", 2.0, 2)
    assert (forces["loss_type"], forces["weight"], forces["atoms_exponent"]) == ("mse", 3.0, 1)
    ens = apb.apax_config(ApaxSettings(committee_size=4, dtype="float32"), 10, 2)
    assert ens["model"]["ensemble"] == {"kind": "shallow", "n_members": 4, "force_variance": True}
    assert [t["loss_type"] for t in ens["loss"]] == ["mse", "mse"] and ens["model"]["readout_dtype"] == "fp32"
    nll = apb.apax_config(ApaxSettings(committee_size=2, ensemble_loss="nll"), 10, 2)
    assert [t["loss_type"] for t in nll["loss"]] == ["nll", "nll"]
    assert [t["loss_type"] for t in apb.apax_config(ApaxSettings(ensemble_loss="nll"), 10, 2)["loss"]] == ["mse", "mse"]


def test_labels_have_the_e0s_subtracted_and_only_energy_forces():
    frames = alloy_frames(2, seed=1, repeat=(1, 1, 2))
    e0s = {"Cu": -1.5, "Au": -2.5}
    out = apb.apax_frames(frames, e0s)
    for a, b in zip(frames, out):
        n_cu, n_au = a.get_chemical_symbols().count("Cu"), a.get_chemical_symbols().count("Au")
        assert b.calc.results["energy"] == pytest.approx(a.info[keys.REF_ENERGY] + 1.5 * n_cu + 2.5 * n_au)
        np.testing.assert_array_equal(b.calc.results["forces"], a.arrays[keys.REF_FORCES])
        assert set(b.calc.results) == {"energy", "forces"} and keys.REF_ENERGY not in b.info


def test_written_config_is_yaml_apax_reads(tmp_path):
    import yaml

    from ilforge.models.e0s import E0s

    frames = alloy_frames(4, seed=1, repeat=(1, 1, 2))
    doc = apb._prepare_fit(ApaxSettings(max_epochs=2), frames[:3], frames[3:], E0s({"Cu": 0.0, "Au": 0.0}, "isolated"), tmp_path)
    assert yaml.safe_load((tmp_path / apb.MODEL_FILE).read_text()) == doc
    import ase.io

    back = ase.io.read(tmp_path / apb.DATA_TRAIN, ":")
    assert len(back) == 3 and back[0].get_potential_energy() == pytest.approx(frames[0].info[keys.REF_ENERGY])


def test_ensemble_bytes_give_committee_statistics():
    rng = np.random.default_rng(0)
    e, f = rng.normal(size=3), rng.normal(size=(5, 3, 3))  # M = 3 members, 5 atoms; forces (n, 3, M)
    raw = np.concatenate([e, f.reshape(-1)]).view(np.byte)
    stats = apb.decode_members(raw, 5)
    assert stats[keys.ENERGY_STD] == pytest.approx(e.std())
    np.testing.assert_allclose(stats[keys.FORCES_STD], f.std(axis=2))
    assert stats[keys.MAX_FORCE_STD] == pytest.approx(np.linalg.norm(f.std(axis=2), axis=1).max())
    assert apb.decode_members(np.zeros(1, dtype=np.byte), 5) == {}
    with pytest.raises(IlforgeError, match="extra values"):
        apb.decode_members(raw[:-8], 5)


def test_training_curve_from_log_csv(tmp_path):
    (tmp_path / "log.csv").write_text("epoch,epoch_time,train_loss,val_energy_per_atom_rmse,val_forces_rmse,val_loss\n"
                                      "0,1.0,5.0,0.02,0.3,6.0\n1,0.5,4.0,0.01,0.2,NA\n")
    rows = apb.read_log_csv(tmp_path / "log.csv")
    assert [r["epochs"] for r in rows] == [1, 2] and rows[1]["valid_loss"] is None
    assert rows[0]["valid_energy_rmse_meV_atom"] == pytest.approx(20.0) and rows[1]["valid_forces_rmse_meV_A"] == pytest.approx(200.0)


def test_model_file_check_and_lammps_export_refused(tmp_path):
    from ilforge.models.artifact import ModelError

    with pytest.raises(ModelError, match="incomplete"):
        apb.check_model_file(tmp_path / apb.MODEL_FILE)
    (tmp_path / apb.MODEL_FILE).write_text("n_epochs: 1\n")
    (tmp_path / apb.EXPERIMENT / "best").mkdir(parents=True)
    assert apb.check_model_file(tmp_path / apb.MODEL_FILE) == tmp_path / apb.MODEL_FILE

    class _Model:
        directory = tmp_path

    with pytest.raises(IlforgeError, match="no LAMMPS pair style.*ilforge md"):
        apb.lammps_files(_Model(), tmp_path, ["Cu"])


def test_a_native_ensemble_trains_once_and_keeps_its_own_spread(tmp_path, monkeypatch):
    """train_model gives apax's committee_size to ONE fit (a shallow ensemble), not N fits; Committee.predict
    of that one model returns the ensemble's own statistics instead of a zero spread over one member."""
    from ilforge.models import training
    from ilforge.models.committee import Committee
    from ilforge.models.data import LabelledData

    seen = []
    monkeypatch.setattr(training, "run_training_tasks", lambda tasks, **kw: seen.extend(tasks) or [])
    frames = alloy_frames(6, 0)
    training.train_model(ApaxSettings(committee_size=3, test_fraction=0.0), LabelledData(frames, "emt"), tmp_path)
    assert len(seen) == 1 and seen[0].settings.committee_size == 3
    seen.clear()
    training.train_model(settings_from_dict({"committee_size": 2, "test_fraction": 0.0}), LabelledData(frames, "emt"), tmp_path)
    assert len(seen) == 2  # MACE: separate members

    own = [{"energy": 1.0, "forces": np.zeros((2, 3)), keys.FORCES_STD: np.ones((2, 3)), keys.MAX_FORCE_STD: 1.7}]
    c = Committee.__new__(Committee)
    monkeypatch.setattr(Committee, "member_predictions", lambda self, *a, **k: [own])
    assert c.predict([None])[0][keys.MAX_FORCE_STD] == 1.7
