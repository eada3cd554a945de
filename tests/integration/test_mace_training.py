"""Train tiny MACE models on CPU on EMT-labelled Cu/Au frames; compare `ilforge validate` with mace_eval_configs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("mace")

import ase.io  # noqa: E402
from emt_frames import LEVEL, alloy_frames, isolated_atoms  # noqa: E402

from ilforge import keys  # noqa: E402
from ilforge.cli import main  # noqa: E402
from ilforge.models.artifact import ModelArtifact  # noqa: E402
from ilforge.models.base import TrainingDataError  # noqa: E402
from ilforge.models.committee import Committee, ModelCalculatorFactory  # noqa: E402
from ilforge.models.mace_finetune import finetune  # noqa: E402
from ilforge.models.mace_settings import MaceSettings as TrainingSettings  # noqa: E402
from ilforge.models.registry import get_backend  # noqa: E402
from ilforge.engine.local import threads_per_worker  # noqa: E402
from ilforge.models.training import train_committee  # noqa: E402
from ilforge.project import Project  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A workdir with frames.extxyz (labelled in the test) and a model trained by `ilforge train`."""
    wd = tmp_path_factory.mktemp("mlip")
    frames = alloy_frames(24, seed=0) + isolated_atoms()
    ase.io.write(wd / "frames.extxyz", frames, format="extxyz")
    t0 = time.perf_counter()
    rc = main(["train", "--workdir", str(wd), "--frames", str(wd / "frames.extxyz"), "--name", "tiny",
               "--max-epochs", "6", "--set", "stress_weight=1.0", "--set", "seed=3", "--set", "test_fraction=0.25"])
    seconds = time.perf_counter() - t0
    assert rc == 0
    return wd, seconds


def test_tiny_model_trains_fast_and_records_provenance(project):
    wd, seconds = project
    assert seconds < 180
    art = ModelArtifact.load(wd / "models" / "tiny")
    info = art.info
    assert info["level_of_theory"] == LEVEL
    assert info["elements"] == ["Cu", "Au"]
    assert info["e0s"]["method"] == "isolated"
    iso = {a.get_chemical_symbols()[0]: a.info[keys.REF_ENERGY] for a in isolated_atoms()}
    assert info["e0s"]["values_eV"] == pytest.approx(iso)
    assert len(info["training_data_hash"]) == 64
    assert info["settings"]["max_epochs"] == 6 and info["timings_s"]["train"] > 0
    # the E0s reach the model: its atomic energies are the isolated-atom energies
    import torch

    model = torch.load(art.model_file, weights_only=False)
    assert model.atomic_energies_fn.atomic_energies.numpy().ravel() == pytest.approx([iso["Cu"], iso["Au"]])
    # the backend-neutral training curve: one entry per epoch, validation errors in meV
    curve = art.training_curve()
    assert curve["epochs"] == list(range(6))
    assert all(len(v) == 6 for v in curve.values())
    assert all(v is not None and v > 0 for v in curve["valid_forces_rmse_meV_A"] + curve["train_loss"])
    assert not (wd / "models" / "tiny" / "_task").exists()  # the task's files are gone once it succeeded


def _errors_from_eval_configs(path):
    """MAE/RMSE computed directly from mace_eval_configs' output extxyz (MACE_* vs REF_*)."""
    fr = ase.io.read(path, ":")
    de = np.array([(a.info["MACE_energy"] - a.info["REF_energy"]) / len(a) for a in fr])
    df = np.concatenate([(a.arrays["MACE_forces"] - a.arrays["REF_forces"]).ravel() for a in fr])
    ds = []
    for a in fr:
        s = np.asarray(a.info["MACE_stress"]).reshape(3, 3)
        ds.append(np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]]) - np.asarray(a.info["REF_stress"]))
    ds = np.concatenate(ds)
    au = np.concatenate([(a.arrays["MACE_forces"] - a.arrays["REF_forces"])[a.numbers == 79].ravel() for a in fr])
    return {
        "energy_mae_meV_atom": np.mean(np.abs(de)) * 1e3, "energy_rmse_meV_atom": np.sqrt(np.mean(de**2)) * 1e3,
        "forces_mae_meV_A": np.mean(np.abs(df)) * 1e3, "forces_rmse_meV_A": np.sqrt(np.mean(df**2)) * 1e3,
        "stress_mae_meV_A3": np.mean(np.abs(ds)) * 1e3, "stress_rmse_meV_A3": np.sqrt(np.mean(ds**2)) * 1e3,
        "au_force_mae": np.mean(np.abs(au)) * 1e3,
    }


def test_validate_agrees_with_mace_eval_configs(project, tmp_path):
    wd, _ = project
    test_file = wd / "models" / "tiny" / "test.extxyz"
    assert main(["validate", "--workdir", str(wd), "--model", "tiny", "--frames", str(test_file)]) == 0
    ours = json.loads((wd / "results" / "validate_tiny.json").read_text())
    # the validate stage gives the same answer in the same file
    from ilforge.validate.stage import run_validate

    res = run_validate(Project(wd), None, model_name="tiny", frames_file=test_file, plots=False)
    assert list(res.results) == ["validate_tiny"]
    assert json.loads((wd / "results" / "validate_tiny.json").read_text())["overall"] == ours["overall"]
    assert res.summary()["overall"]["energy_mae_meV_atom"] == ours["overall"]["energy_mae_meV_atom"]
    out = tmp_path / "eval.extxyz"
    subprocess.run([sys.executable, "-m", "mace.cli.eval_configs", "--configs", str(test_file),
                    "--model", str(wd / "models" / "tiny" / "mace.model"), "--output", str(out),
                    "--compute_stress", "--default_dtype", "float64"], check=True, capture_output=True)
    ref = _errors_from_eval_configs(out)
    for key in ("energy_mae_meV_atom", "energy_rmse_meV_atom", "forces_mae_meV_A", "forces_rmse_meV_A",
                "stress_mae_meV_A3", "stress_rmse_meV_A3"):
        assert ours["overall"][key] == pytest.approx(ref[key], rel=1e-6), key
    assert ours["overall"]["forces_by_element"]["Au"]["mae_meV_A"] == pytest.approx(ref["au_force_mae"], rel=1e-6)
    assert set(ours["by_composition_id"]) == {"au0.00", "au0.25", "au0.50"}
    assert (wd / "results" / "tiny_parity_energy.png").stat().st_size > 1000


def test_calculator_matches_batched_predictions(project):
    wd, _ = project
    art = ModelArtifact.load(wd / "models" / "tiny")
    backend = get_backend("mace")
    frames = ase.io.read(wd / "models" / "tiny" / "test.extxyz", ":")
    preds = backend.predict(art, frames)
    calc = backend.load_calculator(art)
    for a, p in zip(frames, preds):
        a.calc = calc
        assert a.get_potential_energy() == pytest.approx(p["energy"], rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(a.get_forces(), p["forces"], atol=1e-8)


def test_validate_refuses_unseen_element_and_other_level(project, tmp_path):
    wd, _ = project
    from ase.build import bulk
    from emt_frames import label

    ni = label(bulk("Ni", "fcc", a=3.5, cubic=True).repeat((2, 2, 2)))
    ase.io.write(tmp_path / "ni.extxyz", [ni], format="extxyz")
    with pytest.raises(TrainingDataError, match="Ni"):
        from ilforge.validate.evaluate import check_frames_for_model

        check_frames_for_model(ModelArtifact.load(wd / "models" / "tiny"), [ni])
    assert main(["validate", "--workdir", str(wd), "--model", "tiny", "--frames", str(tmp_path / "ni.extxyz")]) == 2
    other = alloy_frames(1, seed=9)
    other[0].info[keys.LEVEL_OF_THEORY] = "xtb:GFN1-xTB"
    with pytest.raises(TrainingDataError, match="levels? of theory|trained on"):
        check_frames_for_model(ModelArtifact.load(wd / "models" / "tiny"), other)


def test_committee_mean_and_spread(project, tmp_path):
    frames = alloy_frames(12, seed=1)
    settings = TrainingSettings(max_epochs=2, batch_size=4, seed=10, committee_size=2, committee_subsample_fraction=0.8)
    # two members in the engine's local pool: the cores are shared out, not oversubscribed
    arts = train_committee(settings, frames[:10], frames[10:], tmp_path / "committee", {"Cu": 3.51, "Au": 3.8}, workers=2)
    assert [a.info["torch_threads"] for a in arts] == [threads_per_worker(2)] * 2
    assert [a.info["settings"]["seed"] for a in arts] == [10, 11]
    assert [a.info["n_train"] for a in arts] == [8, 8]
    assert arts[0].info["training_data_hash"] != arts[1].info["training_data_hash"]
    committee = Committee.load(tmp_path / "committee")
    assert [m.directory for m in committee.members] == [a.directory for a in arts]
    factory = committee.calculator_factory()
    assert ModelCalculatorFactory.from_dict(json.loads(json.dumps(factory.to_dict()))) == factory
    calc = factory()
    a = frames[0].copy()
    a.calc = calc
    e = a.get_potential_energy()
    members = []
    for art in arts:
        b = frames[0].copy()
        b.calc = get_backend("mace").load_calculator(art)
        members.append((b.get_potential_energy(), b.get_forces()))
    assert e == pytest.approx(np.mean([m[0] for m in members]))
    assert calc.results["energy_std"] == pytest.approx(np.std([m[0] for m in members]))
    np.testing.assert_allclose(calc.results["forces_std"], np.std([m[1] for m in members], axis=0), atol=1e-10)
    assert calc.results["energy_std"] > 0
    from ilforge.validate.evaluate import validate_committee

    docs = validate_committee(Project(tmp_path), committee, frames[:1], plots=False)
    assert sorted(docs) == ["validate_committee_committee", "validate_committee_member_0", "validate_committee_member_1"]
    res = docs["validate_committee_committee"]
    # batched committee predictions are the calculator's numbers
    pred = committee.predict(frames[:1])[0]
    assert pred["energy"] == pytest.approx(e) and pred["energy_std"] == pytest.approx(calc.results["energy_std"])
    assert res["overall"]["energy_mae_meV_atom"] == pytest.approx(abs(e - frames[0].info[keys.REF_ENERGY]) / len(frames[0]) * 1e3)
    assert res["spread"]["energy_std_mean_meV_atom"] == pytest.approx(calc.results["energy_std"] / len(frames[0]) * 1e3)


@pytest.mark.parametrize("mode", ["naive", "multihead"])
def test_finetune_from_ilforge_foundation(project, tmp_path, mode):
    wd, _ = project
    foundation = wd / "models" / "tiny"
    new = alloy_frames(6, seed=5, au_fractions=(0.75,))
    art = finetune(TrainingSettings(max_epochs=2, seed=2), foundation, new[:5] + isolated_atoms(), new[5:], tmp_path / mode, mode=mode)
    assert art.info["foundation"]["mode"] == mode
    args = art.info["mace_arguments"]
    assert "--foundation_model" in args
    assert ("--pt_train_file" in args) == (mode == "multihead")
    import torch

    model = torch.load(art.model_file, weights_only=False)
    heads = list(getattr(model, "heads", ["Default"]))
    assert heads == (["pt_head", "Default"] if mode == "multihead" else ["Default"])
    pred = get_backend("mace").predict(art, new[5:])
    assert np.isfinite(pred[0]["energy"])


def test_transfer_study_end_to_end(tmp_path):
    from ilforge.validate.transfer import transfer_study

    frames = alloy_frames(18, seed=4)  # 6 frames at each of au0.00, au0.25, au0.50
    sets = [["au0.25"], ["au0.00", "au0.50"]]
    settings = TrainingSettings(max_epochs=2, batch_size=2, seed=0, test_fraction=0.34, valid_fraction=0.2)
    res = transfer_study(Project(tmp_path), frames, sets, settings, isolated_energies={"Cu": 3.51, "Au": 3.8},
                         composition_x={"au0.00": 0.0, "au0.25": 0.25, "au0.50": 0.5})
    assert res["compositions"] == ["au0.00", "au0.25", "au0.50"]
    e = np.array(res["energy_mae_meV_atom"], dtype=float)
    assert e.shape == (2, 3) and np.all(np.isfinite(e)) and np.all(e > 0)
    saved = json.loads((tmp_path / "results" / "transfer.json").read_text())
    assert saved["training_sets"][1]["compositions"] == ["au0.00", "au0.50"]
    # the hash-stable split (models/data.py): each composition keeps its own test frames, >= 1 each
    from ilforge.models.data import split_by_composition

    _, _, test = split_by_composition(frames, settings.valid_fraction, settings.test_fraction, 0)  # transfer_study's seed
    expected = {c: sum(a.info[keys.COMPOSITION_ID] == c for a in test) for c in ("au0.00", "au0.25", "au0.50")}
    assert saved["n_test_frames"] == expected and min(expected.values()) >= 1
    for name in ("transfer_energy_mae.png", "transfer_forces_mae.png"):
        assert (tmp_path / "results" / name).stat().st_size > 1000
    # a second run reuses the trained models (same data, same settings) and gives the same numbers
    t = time.perf_counter()
    again = transfer_study(Project(tmp_path), frames, sets, settings, isolated_energies={"Cu": 3.51, "Au": 3.8},
                           composition_x={"au0.00": 0.0, "au0.25": 0.25, "au0.50": 0.5})
    assert again["energy_mae_meV_atom"] == res["energy_mae_meV_atom"]
    assert time.perf_counter() - t < 30
