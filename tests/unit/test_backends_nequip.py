"""The NequIP/Allegro backends' host side (no environment needed): settings, Hydra config, data files, curve, export."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from emt_frames import alloy_frames  # noqa: E402

from ilforge import keys  # noqa: E402
from ilforge.models import nequip_backend as nb  # noqa: E402
from ilforge.models.artifact import ModelArtifact, ModelError  # noqa: E402
from ilforge.models.e0s import E0s  # noqa: E402
from ilforge.models.nequip_settings import AllegroSettings, NequipSettings  # noqa: E402
from ilforge.models.registry import backend_names, get_backend, settings_from_dict  # noqa: E402

E0 = {"Cu": -1.5, "Au": -2.5}


def test_registered_with_presets_and_overrides():
    assert {"nequip", "allegro"} <= set(backend_names())
    s = settings_from_dict({"backend": "nequip", "preset": "medium", "num_features": 8})
    assert isinstance(s, NequipSettings) and s.architecture() == {**nb_presets("nequip")["medium"], "num_features": 8}
    a = settings_from_dict({"backend": "allegro", "r_max_A": 4.5})
    assert isinstance(a, AllegroSettings) and a.architecture()["r_max_A"] == 4.5 and a.architecture()["num_tensor_features"] == 8
    assert a.learning_rate == pytest.approx(1e-3) and s.learning_rate == pytest.approx(1e-2)
    for name in ("nequip", "allegro"):
        for preset in ("small", "medium"):
            assert settings_from_dict({"backend": name, "preset": preset}).architecture()["r_max_A"] == 5.0


def nb_presets(name):
    from ilforge.models import nequip_settings

    return nequip_settings.NEQUIP_PRESETS if name == "nequip" else nequip_settings.ALLEGRO_PRESETS


@pytest.mark.parametrize("backend,target", [("nequip", "nequip.model.NequIPGNNModel"), ("allegro", "allegro.model.AllegroModel")])
def test_hydra_config_puts_e0s_in_the_shifts(tmp_path, backend, target):
    s = settings_from_dict({"backend": backend, "max_epochs": 7, "seed": 3, "stress_weight": 5.0, "energy_weight": 2.0})
    cfg = nb.hydra_config(s, ["Cu", "Au"], E0, tmp_path, with_stress=True, batch_size=2)
    model = cfg["training_module"]["model"]
    assert model["_target_"] == target and model["type_names"] == ["Cu", "Au"]
    assert model["per_type_energy_shifts"] == E0 and not model["per_type_energy_shifts_trainable"]
    assert model["r_max"] == 5.0 and model["model_dtype"] == "float64" and model["seed"] == 3
    assert cfg["trainer"]["max_epochs"] == 7 and cfg["hydra"]["run"]["dir"] == str(tmp_path / nb.RUN_DIR)
    loss = cfg["training_module"]["loss"]
    assert loss["_target_"] == "nequip.train.EnergyForceStressLoss" and loss["per_atom_energy"]
    assert loss["coeffs"] == {"total_energy": 2.0, "forces": 10.0, "stress": 5.0}
    assert cfg["data"]["key_mapping"] == {keys.REF_ENERGY: "total_energy", keys.REF_FORCES: "forces", keys.REF_STRESS: "stress"}
    assert cfg["data"]["transforms"][1]["r_max"] == 5.0
    plain = nb.hydra_config(s, ["Cu", "Au"], E0, tmp_path, with_stress=False, batch_size=2)
    assert plain["training_module"]["loss"]["_target_"] == "nequip.train.EnergyForceLoss"
    assert keys.REF_STRESS not in plain["data"]["key_mapping"] and "stress" not in plain["training_module"]["loss"]["coeffs"]


def test_prepare_fit_writes_clean_data_and_stress_only_when_complete(tmp_path):
    frames = alloy_frames(4, seed=1, repeat=(1, 1, 2))
    s = NequipSettings(max_epochs=2, stress_weight=1.0)
    elements, with_stress = nb._prepare_fit(s, frames[:3], frames[3:], E0s(E0, "isolated"), tmp_path)
    assert elements == ["Cu", "Au"] and with_stress
    import ase.io
    import yaml

    back = ase.io.read(tmp_path / nb.DATA_DIR / "train.xyz", index=":")
    assert len(back) == 3 and set(back[0].info) == {keys.REF_ENERGY, keys.REF_STRESS}
    np.testing.assert_allclose(back[1].arrays[keys.REF_FORCES], frames[1].arrays[keys.REF_FORCES], atol=1e-6)
    assert yaml.safe_load((tmp_path / nb.CONFIG_FILE).read_text())["training_module"]["model"]["per_type_energy_shifts"] == E0
    del frames[3].info[keys.REF_STRESS]
    _, with_stress = nb._prepare_fit(s, frames[:3], frames[3:], E0s(E0, "isolated"), tmp_path / "b")
    assert not with_stress
    with pytest.raises(Exception, match="no reference energy"):
        nb._prepare_fit(s, frames[:3], frames[3:], E0s({"Cu": -1.0}, "isolated"), tmp_path / "c")


def test_metrics_csv_rows(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("epoch,step,train_loss_epoch/weighted_sum,val0_epoch/weighted_sum,val0_epoch/per_atom_energy_rmse,val0_epoch/forces_rmse\n"
                 "0,1,,2.0,0.010,0.5\n0,1,3.0,,,\n1,3,,1.0,0.005,0.25\n1,3,1.5,,,\n")
    rows = nb.read_metrics_csv(p)
    assert [r["epochs"] for r in rows] == [1, 2]
    assert rows[0]["train_loss"] == pytest.approx(3.0) and rows[1]["valid_loss"] == pytest.approx(1.0)
    assert rows[1]["valid_energy_rmse_meV_atom"] == pytest.approx(5.0) and rows[0]["valid_forces_rmse_meV_A"] == pytest.approx(500.0)
    assert nb.read_metrics_csv(None) == []


def _fake_model(d: Path, backend: str) -> None:
    from ilforge.models.data import write_frames

    d.mkdir()
    (d / nb.MODEL_FILE).write_bytes(b"compiled")
    (d / nb.PACKAGE_FILE).write_bytes(b"package")
    frames = alloy_frames(2, seed=3, repeat=(1, 1, 2), au_fractions=(0.5,))
    write_frames(d / nb.TRAIN_FILE, frames)
    write_frames(d / nb.VALID_FILE, frames[1:])
    ModelArtifact(d, {"backend": backend, "model_file": nb.MODEL_FILE, "package_file": nb.PACKAGE_FILE, "elements": ["Cu", "Au"],
                      "e0s": E0s(E0, "isolated").to_json()}).save()


@pytest.mark.parametrize("backend", ["nequip", "allegro"])
def test_export_compiles_for_the_pair_style(tmp_path, monkeypatch, backend):
    from ilforge.models.export import export_lammps

    calls = []

    def fake_run_in_env(env, worker, task, workdir, threads=None):
        calls.append((env, worker, task))
        Path(task["output"]).write_bytes(b"pt2")
        return {"output": task["output"]}

    monkeypatch.setattr(nb, "run_in_env", fake_run_in_env)
    _fake_model(tmp_path / "model", backend)
    exp = export_lammps(tmp_path / "model", tmp_path / "lmp", steps=100)
    text = (exp.directory / "in.lammps").read_text()
    name = f"model.{backend}.nequip.pt2"
    assert f"pair_style {backend}\n" in text and f"pair_coeff * * {name} Cu Au" in text
    assert calls[0][0] == "nequip" and calls[0][2]["target"] == f"pair_{backend}" and calls[0][2]["mode"] == "compile"
    assert calls[0][2]["package"] == str((tmp_path / "model" / nb.PACKAGE_FILE).resolve())
    assert exp.e0_offset_eV == 0.0 and (exp.directory / name).is_file()


def test_model_files_checked_and_bare_files_refused(tmp_path):
    _fake_model(tmp_path / "m", "nequip")
    assert ModelArtifact.load(tmp_path / "m").backend == "nequip"
    (tmp_path / "m" / nb.PACKAGE_FILE).unlink()
    with pytest.raises(ModelError, match="missing or empty"):
        ModelArtifact.load(tmp_path / "m")
    with pytest.raises(Exception, match="not a bare model file"):
        get_backend("allegro").load_calculator(tmp_path / "m" / nb.MODEL_FILE)


def test_export_puts_pre_box_commands_before_read_data():
    """pair_nequip refuses LAMMPS's default newton on: the exported input sets newton off before the box."""
    from ilforge.models.export import setup_commands

    cmds = setup_commands("nequip", "* * m.pt2 H", pre_box=["newton off"])
    assert cmds.index("newton off") < cmds.index("read_data data.lmp") if "read_data data.lmp" in cmds else \
        cmds.index("newton off") < next(i for i, c in enumerate(cmds) if c.startswith("read_data"))
    assert "newton off" not in setup_commands("deepmd", "* *")
