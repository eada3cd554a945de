"""A saved MD run is resumed only when it was made from the same inputs: a retrained model in the
same directory, other settings or another starting structure start the run over (a resumed run must
continue one trajectory, not splice a new model onto an old checkpoint)."""

from __future__ import annotations

import logging

import numpy as np
from ase import Atoms

from ilforge.md.calculators import NamedCalculator, calculator_identity
from ilforge.md.result import CHECKPOINT, INPUTS_JSON
from ilforge.md.runner import StatePoint, run_state_point
from ilforge.md.settings import MDSettings
from ilforge.md.state_point_task import run_identity
from ilforge.md.trajectory import read_h5md

SETTINGS = dict(ensemble="nvt", timestep_fs=2.0, equilibration_ps=0.0, production_ps=0.02, save_every_steps=5,
                checkpoint_every_steps=5, monitors={"bonds": False})


def _ar():
    rng = np.random.default_rng(0)
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], float) * 3.8
    return Atoms("Ar8", positions=grid + rng.normal(0, 0.05, grid.shape), cell=np.eye(3) * 7.6, pbc=True)


def _run(tmp_path, identity, steps_ps=0.02):
    settings = MDSettings(**{**SETTINGS, "production_ps": steps_ps})
    return run_state_point(_ar(), NamedCalculator("lj")(), settings, tmp_path, StatePoint(100.0), progress=False,
                           identity=identity)


def test_same_inputs_resume_changed_inputs_start_over(tmp_path, caplog):
    first = _run(tmp_path, {"model": "a"})
    assert first.completed and (tmp_path / INPUTS_JSON).is_file()
    again = _run(tmp_path, {"model": "a"})
    assert again.wall_s == first.wall_s  # the saved result, nothing rerun
    # a longer run from the same inputs resumes from the checkpoint: the first frames are kept
    before = read_h5md(tmp_path / "production.h5").positions.copy()
    with caplog.at_level(logging.WARNING):
        longer = _run(tmp_path, {"model": "a"}, steps_ps=0.04)
    assert "starting it over" not in caplog.text
    assert np.array_equal(read_h5md(tmp_path / "production.h5").positions[: len(before)], before)
    # another model: the old files are removed and the run starts at step 0
    with caplog.at_level(logging.WARNING):
        other = _run(tmp_path, {"model": "b"}, steps_ps=0.04)
    assert "starting it over" in caplog.text and "model" in caplog.text
    assert other.steps_done == longer.steps_total and other.wall_s != longer.wall_s
    assert len(read_h5md(tmp_path / "production.h5").positions) == len(read_h5md(tmp_path / "production.h5").time_ps)


def test_a_run_without_a_record_of_its_inputs_starts_over(tmp_path, caplog):
    _run(tmp_path, None)
    assert not (tmp_path / INPUTS_JSON).exists() and (tmp_path / CHECKPOINT).exists()
    with caplog.at_level(logging.WARNING):
        _run(tmp_path, {"model": "a"})
    assert "not recorded" in caplog.text


def test_identity_follows_model_bytes_settings_and_start(tmp_path):
    model = tmp_path / "m.model"
    model.write_bytes(b"weights 1")
    start = tmp_path / "start.extxyz"
    start.write_text("structure 1")
    task = {"settings": {"timestep_fs": 0.5}, "seed": 3, "restart": True,
            "calculator": {"kind": "model", "backend": "x", "model_dirs": [str(model)]}}
    a = run_identity(task, start)
    assert run_identity({**task, "restart": False}, start) == a  # the restart flag is not an input
    model.write_bytes(b"weights 2")  # retrained into the same path
    b = run_identity(task, start)
    assert b != a and b["task"] == a["task"]
    assert run_identity({**task, "settings": {"timestep_fs": 1.0}}, start) != b
    start.write_text("structure 2")
    assert run_identity(task, start)["start_sha256"] != b["start_sha256"]
    assert calculator_identity({"kind": "named", "name": "lj"}) == {"description": {"kind": "named", "name": "lj"}}
