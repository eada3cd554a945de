"""Files a rerun trusts survive a failure mid-write (issue 16, atomicity): the generic force-field
cache, a retrained model, the test split and committee list, CP2K's temporary directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.chem.species import load_library


def _half_then_fail(monkeypatch):
    """Every file opened for writing gets half of what is written to it, then the write raises (a run
    killed mid-write), whichever way the writer opens it (Path.write_text or os.fdopen)."""
    import builtins

    real_open, real_fdopen = builtins.open, os.fdopen

    def wrap(fh):
        real_write = fh.write

        def write(text):
            real_write(text[: len(text) // 2])
            raise OSError("killed mid-write")

        fh.write = write
        return fh

    def fake_open(file, mode="r", *a, **kw):
        fh = real_open(file, mode, *a, **kw)
        return wrap(fh) if ("w" in mode and "b" not in mode) else fh

    def fake_fdopen(fd, mode="r", *a, **kw):
        fh = real_fdopen(fd, mode, *a, **kw)
        return wrap(fh) if ("w" in mode and "b" not in mode) else fh

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "fdopen", fake_fdopen)


def test_generic_cache_is_written_atomically_and_a_corrupt_entry_is_rebuilt(tmp_path, monkeypatch):
    from ilforge.forcefields.generic import xtb_isolated

    li = load_library().get("Li")
    with monkeypatch.context() as m:
        _half_then_fail(m)
        with pytest.raises(OSError, match="killed"):
            xtb_isolated(li, cache_dir=tmp_path)
    assert list(tmp_path.glob("*.json")) == []  # no half entry that a rerun would trust
    good = xtb_isolated(li, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("Li_*.json")
    assert json.loads(entry.read_text()) == good
    entry.write_text('{"positions_A": [[0, 0')  # corrupt: rebuilt, not a traceback
    assert xtb_isolated(li, cache_dir=tmp_path) == good
    assert json.loads(entry.read_text()) == good


def _frames(n=6):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        a = Atoms("Ar3", positions=rng.uniform(0, 4, (3, 3)), cell=[6, 6, 6], pbc=True)
        a.info.update({keys.REF_ENERGY: float(i), keys.COMPOSITION_ID: "c", keys.LEVEL_OF_THEORY: "lj"})
        a.arrays[keys.REF_FORCES] = np.zeros((3, 3))
        out.append(a)
    return out


def _previous_model(model_dir: Path) -> dict[str, bytes]:
    model_dir.mkdir(parents=True)
    files = {"mace.model": b"PK previous model", "model.json": b'{"backend": "mace", "model_file": "mace.model"}',
             "train.extxyz": b"previous frames"}
    for name, data in files.items():
        (model_dir / name).write_bytes(data)
    return files


def test_a_failed_retraining_keeps_the_previous_model(tmp_path, monkeypatch):
    from ilforge.models import mace_backend
    from ilforge.models.mace_settings import MaceSettings

    model_dir = tmp_path / "models" / "m"
    before = _previous_model(model_dir)

    def dies_mid_fit(argv):
        work = Path(argv[argv.index("--model_dir") + 1])
        (work / "mace.model").write_bytes(b"half a model")
        raise RuntimeError("killed during training")

    monkeypatch.setattr(mace_backend, "mace_arguments", lambda s, wd, *a, **k: ["--model_dir", str(wd)])
    monkeypatch.setattr(mace_backend, "run_mace_train", dies_mid_fit)
    with pytest.raises(RuntimeError, match="killed"):
        mace_backend.MaceBackend().train(MaceSettings(max_epochs=1), _frames(), [], model_dir, {"Ar": 0.0})
    for name, data in before.items():
        assert (model_dir / name).read_bytes() == data, name


def test_a_complete_fit_replaces_the_previous_one(tmp_path):
    from ilforge.models.mace_backend import FIT_DIR, _promote_fit

    model_dir = tmp_path / "m"
    _previous_model(model_dir)
    (model_dir / "mace_stagetwo.model").write_bytes(b"old stage two")
    (model_dir / "logs").mkdir()
    (model_dir / "logs" / "old.log").write_text("old")
    fit = model_dir / FIT_DIR
    (fit / "logs").mkdir(parents=True)
    (fit / "logs" / "new.log").write_text("new")
    (fit / "mace.model").write_bytes(b"new model")
    (fit / "train.extxyz").write_text("new frames")
    _promote_fit(fit, model_dir)
    assert (model_dir / "mace.model").read_bytes() == b"new model"
    assert (model_dir / "train.extxyz").read_text() == "new frames"
    assert not (model_dir / "mace_stagetwo.model").exists()  # the previous fit's, not this one's
    assert sorted(p.name for p in (model_dir / "logs").iterdir()) == ["new.log"]
    assert not fit.exists()


def test_test_split_and_committee_list_survive_a_failed_training(tmp_path, monkeypatch):
    from ilforge.models import training
    from ilforge.models.data import LabelledData
    from ilforge.models.settings import TrainingSettings

    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / training.TEST_FILE).write_text("previous test frames")
    (model_dir / "committee.json").write_text('{"members": ["member_0", "member_1"]}')

    def fails(*a, **k):
        raise RuntimeError("training failed")

    monkeypatch.setattr(training, "run_training_tasks", fails)
    data = LabelledData(_frames(10), "lj", {})
    for size in (1, 2):
        settings = TrainingSettings(committee_size=size, test_fraction=0.2, valid_fraction=0.2, seed=1)
        with pytest.raises(RuntimeError):
            training.train_model(settings, data, model_dir)
        assert (model_dir / training.TEST_FILE).read_text() == "previous test frames"
        assert json.loads((model_dir / "committee.json").read_text())["members"] == ["member_0", "member_1"]


def test_cp2k_run_directories_of_killed_runs_are_removed(tmp_path):
    from ilforge.reference import cp2k

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"ilforge-cp2k-{dead.pid}-abc"
    (stale / "sub").mkdir(parents=True)
    alive = tmp_path / f"ilforge-cp2k-{os.getppid()}-def"
    alive.mkdir()
    other = tmp_path / "ilforge-cp2k-notapid"
    other.mkdir()
    d = cp2k.run_dir("ilforge-cp2k-", base=str(tmp_path))
    assert not stale.exists() and alive.exists() and other.exists()
    assert Path(d).name.startswith(f"ilforge-cp2k-{os.getpid()}-") and Path(d).is_dir()
    cp2k._remove_run_dirs_at_exit()  # what atexit runs
    assert not Path(d).exists()


def test_cp2k_labeler_close_removes_its_directory(monkeypatch, tmp_path):
    from ilforge.reference import cp2k

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lab = cp2k.CP2KLabeler()
    lab._tmp = cp2k.run_dir("ilforge-cp2k-")
    assert Path(lab._tmp).is_dir()
    made = lab._tmp
    lab.close()
    assert not Path(made).exists() and made not in cp2k._RUN_DIRS


def test_a_corrupt_task_result_counts_as_not_finished(tmp_path):
    from ilforge.engine.task import read_result_json, read_task_json
    from ilforge.errors import IlforgeError

    (tmp_path / "result.json").write_text('{"ok": tr')
    assert read_result_json(tmp_path) is None
    (tmp_path / "task.json").write_text("[1")
    with pytest.raises(IlforgeError, match="task.json is corrupt"):
        read_task_json(tmp_path)
