"""Loading labelled frames, clear errors, per-composition splits, training settings."""

import ase.io
import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.models.base import TrainingDataError, check_elements_covered, check_labelled, level_of_theory
from ilforge.models.data import load_labelled, split_by_composition
from ilforge.models.mace_settings import PRESETS, MaceSettings


def labelled(comp="c1", level="lvl", symbols="H2O", i=0):
    a = Atoms(symbols, positions=np.random.default_rng(i).normal(size=(3, 3)) * 2)
    a.info.update({keys.REF_ENERGY: -1.0 * i, keys.COMPOSITION_ID: comp, keys.LEVEL_OF_THEORY: level})
    a.arrays[keys.REF_FORCES] = np.zeros((3, 3))
    return a


def test_clear_errors():
    with pytest.raises(TrainingDataError, match="no labelled"):
        check_labelled([])
    with pytest.raises(TrainingDataError, match="levels of theory"):
        level_of_theory([labelled(level="a"), labelled(level="b")])
    with pytest.raises(TrainingDataError, match=r"\['N'\] absent from the training data"):
        check_elements_covered(["H", "O"], [labelled(symbols="NH2")])


def test_load_labelled_from_file(tmp_path):
    path = tmp_path / "f.extxyz"
    ase.io.write(path, [labelled(level="a", i=1), labelled(level="b", i=2)], format="extxyz")
    with pytest.raises(TrainingDataError, match="levels of theory"):
        load_labelled(None, path)
    data = load_labelled(None, path, "b")
    assert data.level_of_theory == "b" and len(data.frames) == 1
    unl = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]])
    ase.io.write(tmp_path / "u.extxyz", [unl], format="extxyz")
    with pytest.raises(TrainingDataError, match="no labelled"):
        load_labelled(None, tmp_path / "u.extxyz")
    with pytest.raises(TrainingDataError, match="frame store"):
        load_labelled(tmp_path, None)


def test_split_per_composition_is_seeded_and_independent():
    frames = [labelled("a", i=i) for i in range(10)] + [labelled("b", i=100 + i) for i in range(4)]
    tr, va, te = split_by_composition(frames, 0.1, 0.2, seed=1)
    assert len(tr) + len(va) + len(te) == 14
    assert sum(a.info[keys.COMPOSITION_ID] == "b" for a in te) >= 1  # every group of >= 3 frames tests
    assert sum(a.info[keys.COMPOSITION_ID] == "a" for a in te) >= 1
    assert sum(a.info[keys.COMPOSITION_ID] == "b" for a in va) >= 1 and sum(a.info[keys.COMPOSITION_ID] == "b" for a in tr) >= 1
    te_a = [a.info[keys.REF_ENERGY] for a in te if a.info[keys.COMPOSITION_ID] == "a"]
    _, _, te2 = split_by_composition(frames[:10], 0.1, 0.2, seed=1)  # same split without composition b
    assert te_a == [a.info[keys.REF_ENERGY] for a in te2]
    assert split_by_composition(frames, 0.1, 0.2, seed=2)[2] != te


def test_settings_presets_and_overrides():
    s = MaceSettings(preset="small", num_channels=16)
    arch = s.architecture()
    assert arch["num_channels"] == 16 and arch["r_max_A"] == PRESETS["small"]["r_max_A"]
    assert MaceSettings(preset="large").architecture()["max_L"] == 2
    with pytest.raises(Exception):
        MaceSettings(unknown=1)


def test_cli_errors_are_clear(tmp_path, capsys):
    from ilforge.cli import main

    assert main(["train", "--workdir", str(tmp_path)]) == 2
    assert "no frame store" in capsys.readouterr().err
    path = tmp_path / "mixed.extxyz"
    ase.io.write(path, [labelled(level="a", i=1), labelled(level="b", i=2)], format="extxyz")
    assert main(["train", "--workdir", str(tmp_path), "--frames", str(path)]) == 2
    assert "levels of theory" in capsys.readouterr().err
    assert main(["validate", "--workdir", str(tmp_path), "--model", "nothing"]) == 2
    assert "ilforge train" in capsys.readouterr().err
    assert main(["train", "--workdir", str(tmp_path), "--frames", str(path), "--set", "bogus=1"]) == 2
    assert "invalid training setting" in capsys.readouterr().err


def test_frames_from_the_frame_store(tmp_path):
    pytest.importorskip("ilforge.store.frames")
    from ilforge.store.frames import FrameStore

    frames = [labelled("c1", level="lvl", i=i) for i in range(3)]
    for el, e in (("H", -13.6), ("O", -432.0)):
        iso = Atoms(el, cell=[10, 10, 10])
        iso.info.update({keys.REF_ENERGY: e, keys.CONFIG_TYPE: keys.CT_ISOLATED_ATOM, keys.LEVEL_OF_THEORY: "lvl"})
        iso.arrays[keys.REF_FORCES] = np.zeros((1, 3))
        frames.append(iso)
    ase.io.write(tmp_path / "in.extxyz", frames, format="extxyz")
    store = FrameStore.open(tmp_path / "frames.db")
    store.import_extxyz(tmp_path / "in.extxyz")
    data = load_labelled(tmp_path)
    assert data.level_of_theory == "lvl" and len(data.frames) == 3
    assert data.isolated_energies == pytest.approx({"H": -13.6, "O": -432.0})
    assert sorted(a.info[keys.REF_ENERGY] for a in data.frames) == pytest.approx([-2.0, -1.0, 0.0])
    ase.io.write(tmp_path / "other.extxyz", [labelled("c1", level="other", i=7)], format="extxyz")
    store.import_extxyz(tmp_path / "other.extxyz")
    with pytest.raises(TrainingDataError, match="levels of theory"):
        load_labelled(tmp_path)
    assert len(load_labelled(tmp_path, level_of_theory="other").frames) == 1


def test_frames_with_violent_reference_forces_do_not_train(caplog):
    """The production path every backend takes (split_training_frames): a frame whose largest
    reference force is above training.max_force_eV_A leaves training and validation, and says so."""
    from ilforge.models.data import split_training_frames

    frames = [labelled(i=i) for i in range(6)]
    for k, a in enumerate(frames):
        a.arrays[keys.REF_FORCES] = np.full((3, 3), 0.5 + k)  # |F| = sqrt(3)(0.5 + k): 0.9 ... 9.5 eV/Å
    frames[2].arrays[keys.REF_FORCES][1] = [0.0, 60.0, 0.0]  # a near-collision
    s = MaceSettings(valid_fraction=0.3, seed=0)
    assert s.max_force_eV_A == 20.0
    train, valid, _, _ = split_training_frames(s, frames, [])
    assert len(train) + len(valid) == 5 and all(a is not frames[2] for a in train + valid)
    assert "1 of 6 training frames" in caplog.text
    train, valid, _, _ = split_training_frames(s, frames[:2], [frames[2], frames[3]])
    assert frames[2] not in valid and frames[3] in valid
    tr, va, _, _ = split_training_frames(s.model_copy(update={"max_force_eV_A": None}), frames, [])
    assert len(tr) + len(va) == 6
    with pytest.raises(TrainingDataError, match="max_force_eV_A = 1 eV/Å"):
        split_training_frames(s.model_copy(update={"max_force_eV_A": 1.0}), frames[1:], [])
