"""Every long stage reports progress through ilforge.progress.Progress into Project.progress_file(stage):
the label stage (EMT frames), the sampler's ps accounting, the train stage's epoch watcher and MACE
metrics-log parser, and `ilforge status` showing an unfinished stage."""

from __future__ import annotations

import io
import json
import types

import numpy as np
import pytest
from ase import Atoms

from ilforge.progress import Progress, read_status
from ilforge.project import Project

# two lines as mace-torch 0.3.16 appends them to <results>/<name>_run-<seed>_train.txt: a training batch
# ("opt") and the evaluation after epoch 4 (0-based, so 5 epochs done); errors in eV/atom and eV/Å
OPT_LINE = '{"loss": 0.52, "time": 0.1, "mode": "opt", "epoch": 4}'
EVAL_LINE = ('{"loss": 0.031, "mae_e": 0.01, "mae_e_per_atom": 0.0021, "rmse_e": 0.02, "rmse_e_per_atom": 0.0034, '
             '"q95_e": 0.03, "mae_f": 0.05, "rmse_f": 0.0712, "rel_rmse_f": 12.0, "q95_f": 0.1, "mode": "eval", '
             '"epoch": 4, "head": "Default"}')


def _quiet(monkeypatch):
    """Stages draw on sys.stderr when it is a terminal; keep tests off the terminal."""
    monkeypatch.setattr("sys.stderr", io.StringIO())


# ---------------------------------------------------------------------------------------------- train
def test_parse_epoch_line_converts_units_and_counts_from_one():
    from ilforge.models.mace_cli import parse_epoch_line

    doc = parse_epoch_line(EVAL_LINE)
    assert doc["epochs_done"] == 5 and doc["head"] == "Default"
    assert doc["E_rmse_meV_atom"] == pytest.approx(3.4) and doc["F_rmse_meV_A"] == pytest.approx(71.2)
    assert parse_epoch_line(OPT_LINE) is None
    assert parse_epoch_line('{"mode": "eval", "epoch": null, "rmse_f": 1.0}') is None  # the initial evaluation
    assert parse_epoch_line('{"mode": "ev') is None  # a line mace is still writing


def test_epoch_log_reads_only_complete_new_lines(tmp_path):
    from ilforge.models.mace_cli import EpochLog

    log_file = tmp_path / "mace_run-1_train.txt"
    elog = EpochLog(tmp_path)
    assert elog.poll() is None  # no file yet
    log_file.write_text(OPT_LINE + "\n" + EVAL_LINE + "\n" + EVAL_LINE.replace('"epoch": 4', '"epoch": 5')[:30])
    assert elog.poll()["epochs_done"] == 5  # the half-written line is not read yet
    with open(log_file, "a") as fh:
        fh.write(EVAL_LINE.replace('"epoch": 4', '"epoch": 5')[30:] + "\n")
    assert elog.poll()["epochs_done"] == 6
    # a fine-tuning replay head never hides the Default head's errors
    with open(log_file, "a") as fh:
        fh.write(EVAL_LINE.replace('"epoch": 4', '"epoch": 6').replace("Default", "pt_head") + "\n")
    assert elog.poll()["epochs_done"] == 6


class _FakeLog:
    def __init__(self, epochs):
        self.epochs = epochs

    def poll(self):
        return {"epochs_done": self.epochs, "head": "Default", "E_rmse_meV_atom": 1.5, "F_rmse_meV_A": 40.0}


def test_epoch_watch_counts_epochs_models_and_reused(monkeypatch, tmp_path):
    from ilforge.models import train_task
    from ilforge.models.settings import TrainingSettings

    logs = {}

    class Backend:
        @staticmethod
        def epoch_log(model_dir, since):
            return logs.setdefault(str(model_dir), _FakeLog(0))

    monkeypatch.setattr(train_task, "backend_class", lambda name: Backend)
    s = TrainingSettings(max_epochs=10)
    tasks = [train_task.TrainTask(s, [], [], str(tmp_path / f"member_{k}")) for k in range(2)]
    p = Progress(0, "train", "epoch", status_path=tmp_path / "train.json", stream=io.StringIO(), min_interval_s=0.0)
    watch = train_task._EpochWatch(tasks, p, reused=1, reused_epochs=10)
    assert (p.total, p.done) == (30, 10)
    logs[str(tmp_path / "member_0")].epochs = 4
    watch.poll()
    assert p.done == 14 and p.latest["models"] == "1/3" and p.latest["epoch"] == "4/10"
    assert p.latest["model"] == "member_0" and p.latest["F_rmse_meV_A"] == 40.0
    watch.task_done(0)  # finished (e.g. stopped early by patience): all its epochs count
    assert p.done == 20 and p.latest["models"] == "2/3" and p.latest["model"] == "member_1"
    watch.task_done(1)
    assert p.latest["models"] == "3/3" and p.latest["epoch"] == "10/10" and "F_rmse_meV_A" in p.latest  # kept
    p.close()
    doc = read_status(tmp_path / "train.json")
    assert doc["done"] == doc["total"] == 30 and doc["finished"]


# ---------------------------------------------------------------------------------------------- sample
def test_sample_progress_counts_ps_over_all_runs(monkeypatch, tmp_path):
    from ilforge.sample import runner

    comps = [types.SimpleNamespace(id="a", counts={}), types.SimpleNamespace(id="b", counts={})]
    recipe = types.SimpleNamespace(
        library=lambda: [], temperatures_K=[300.0, 350.0], forcefield=None, seed=0,
        sampling=types.SimpleNamespace(equilibration_ps=2.0, production_ps=3.0))
    monkeypatch.setattr(runner, "_select_compositions", lambda r, lib, c: comps)
    monkeypatch.setattr(runner, "templates_for", lambda *a, **k: {})
    # (a, 300 K) was sampled before: it counts as done at once and not in the rate
    monkeypatch.setattr(runner, "_done_before", lambda p, r, c, T: "old" if (c.id, T) == ("a", 300.0) else None)
    seen = []

    def fake_sample_one(project, recipe, comp, T, templates, progress):
        on_chunk = runner._chunk_reporter(progress, T, f"{comp.id}_{T:g}K")
        for t in (1.0, 2.5, 4.9999999):
            on_chunk(types.SimpleNamespace(times_ps=[t], densities_g_cm3=[1.2]))
            seen.append(progress.done)
        return "new"

    monkeypatch.setattr(runner, "sample_one", fake_sample_one)
    p = Progress(0, "sample", "ps", status_path=tmp_path / "sample.json", stream=io.StringIO(), min_interval_s=0.0)
    out = runner.sample_recipe(recipe, Project(tmp_path), progress=p)
    assert out == ["old", "new", "new", "new"]
    assert p.total == 20 and p._start_done == 5
    assert seen[:3] == [6, 7.5, pytest.approx(10)]  # on top of the 5 ps done before
    assert p.done == 20  # exact at the end of every run, whatever the last chunk's rounding
    assert p.latest["T_K"] == 350.0 and p.latest["rho_g_cm3"] == 1.2 and p.latest["ns_day"] > 0
    p.close()
    assert read_status(tmp_path / "sample.json")["finished"]


# ---------------------------------------------------------------------------------------------- label
def _label_recipe():
    from ilforge.recipe import recipe_from_dict

    return recipe_from_dict({
        "name": "emt", "box": {"ion_pairs": 4}, "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}}, "temperatures_K": [300.0],
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "labels": {"labeler": "ase", "options": {"calculator": "ase.calculators.emt:EMT"},
                   "isolated_atoms": False, "frames_per_composition": 0,
                   "strategies": {"volume_scan": {"percent": []}}},  # the stored frames only
    })


def test_label_stage_writes_its_progress_file(monkeypatch, tmp_path):
    from ilforge.reference.stage import run_label
    from ilforge.store.frames import FrameStore

    _quiet(monkeypatch)
    monkeypatch.setenv("ILFORGE_ALLOW_RECIPE_CODE", "1")
    project = Project(tmp_path)
    rng = np.random.default_rng(0)
    frames = [Atoms("Cu4", positions=[[0, 0, 0], [1.8, 0, 0], [0, 1.8, 0], [0, 0, 1.8]] + rng.normal(0, 0.05, (4, 3)),
                    cell=[6, 6, 6], pbc=True) for _ in range(5)]
    FrameStore.open(project.frames_db).add_many(frames, composition_id="neat", config_type="classical_md")
    res = run_label(project, _label_recipe())
    assert res.run.done == 5
    doc = json.loads(project.progress_file("label").read_text())
    assert doc["done"] == doc["total"] == 5 and doc["finished"] and doc["unit"] == "frame"
    assert doc["latest"]["failed"] == 0
    # a rerun has nothing to do: its status is finished with 0/0 (not the last run's numbers)
    run_label(project, _label_recipe())
    doc = read_status(project.progress_file("label"))
    assert doc["total"] == 0 and doc["finished"]


# ---------------------------------------------------------------------------------------------- build
def test_build_stage_writes_its_progress_file(monkeypatch, tmp_path):
    from ilforge.build import stage

    _quiet(monkeypatch)
    recipe = types.SimpleNamespace(resolve_compositions=lambda: ["a", "b"], temperatures_K=[300.0, 400.0, 500.0],
                                   library=lambda: [])

    def fake_build_boxes(recipe, project, force=False, progress=None):
        paths = [project.box(c, T) for c in "ab" for T in recipe.temperatures_K]
        for p in paths:
            progress(p)
        return []

    monkeypatch.setattr(stage, "build_boxes", fake_build_boxes)
    project = Project(tmp_path)
    stage.run_build(project, recipe)
    doc = read_status(project.progress_file("build"))
    assert doc["done"] == doc["total"] == 6 and doc["finished"] and doc["latest"]["box"] == "b_500K"


# ---------------------------------------------------------------------------------------------- status
def test_status_shows_an_unfinished_stage(tmp_path, capsys):
    from ilforge.cli import status

    project = Project(tmp_path)
    p = Progress(60, "label", "frame", status_path=project.progress_file("label"), stream=io.StringIO(),
                 min_interval_s=0.0)
    p.update(12, failed=1)
    done = Progress(3, "build", "box", status_path=project.progress_file("build"), stream=io.StringIO())
    done.update(3)
    done.close()
    status._print_progress(project)
    out = capsys.readouterr().out
    assert "label  12/60 frame (20%)" in out and "failed=1" in out and "build" not in out
    assert "stopped before finishing" in out  # nothing holds the project's write lock
    with project.lock("workdir", "ilforge run"):
        assert status._writer_running(project)
    assert not status._writer_running(project)


def test_label_no_progress_flag_turns_the_terminal_line_off(monkeypatch):
    from ilforge import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(progress, "_TERMINAL", {"enabled": True})
    assert Progress(1, stream=Tty()).tty
    # log messages start by clearing the progress line on a terminal, nothing elsewhere
    assert progress.log_prefix(Tty()) == progress.CLEAR_LINE and progress.log_prefix(io.StringIO()) == ""
    progress.set_terminal(False)
    assert not Progress(1, stream=Tty()).tty and progress.log_prefix(Tty()) == ""
