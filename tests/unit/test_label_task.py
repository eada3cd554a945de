"""Label tasks as files: the same result in-process and in another interpreter, strategy jobs through
extxyz + JSON, failures as results, one labeler per process, the spec as data (no recipe path)."""

from __future__ import annotations

import json

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.engine.task import FileTask, run_file_task
from ilforge.recipe import Recipe, load_recipe
from ilforge.reference import label_task
from ilforge.reference.label_task import LabelerSpec, read_label_result, task_string, write_label_task
from ilforge.reference.registry import make_labeler
from ilforge.reference.settings import LabelSettings
from ilforge.store.frames import SINGLE_POINT

SRC = Path(__file__).resolve().parents[2] / "src"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LJ = LabelSettings(labeler="ase", options={"calculator": "ase.calculators.lj:LennardJones",
                                           "kwargs": {"sigma": 1.0, "epsilon": 1.0, "rc": 3.0}})


def _frame(x0=1.0):
    a = Atoms("Ar3", positions=[[x0, 0, 0], [x0 + 1.13, 0, 0], [x0, 1.21, 0.05]], cell=[8, 8, 8], pbc=True)
    a.arrays[keys.MOL_ID] = np.array([0, 1, 2])
    a.arrays[keys.MOL_SPECIES] = np.array(["Ar"] * 3)
    a.info.update({keys.FRAME_HASH: "f00", keys.COMPOSITION_ID: "x0.40", keys.TEMPERATURE_K: 298.15,
                   "unrelated": {"nested": [1, 2]}})
    return a


def test_single_point_in_process_and_in_another_interpreter(tmp_path):
    spec = LabelerSpec.from_settings(LJ)
    ref = make_labeler(LJ).label(_frame())
    task = write_label_task(tmp_path / "a", spec, SINGLE_POINT, _frame())
    assert run_file_task(task).ok
    res = read_label_result(task.directory)
    assert res.ok and res.labels.energy == pytest.approx(ref.energy, abs=1e-9)
    np.testing.assert_allclose(res.labels.forces, ref.forces, atol=1e-7)
    # the same task as a subprocess (the command another environment would run)
    other = write_label_task(tmp_path / "b", spec, SINGLE_POINT, _frame())
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", label_task.MODULE, other.directory], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    res2 = read_label_result(other.directory)
    assert res2.labels.energy == res.labels.energy
    np.testing.assert_array_equal(res2.labels.forces, res.labels.forces)


def test_a_failed_label_is_a_result_and_a_broken_task_a_failed_outcome(tmp_path, monkeypatch):
    monkeypatch.setenv("ILFORGE_ALLOW_RECIPE_CODE", "1")  # a recipe's own calculator: the user's opt-in
    bad = LabelSettings(labeler="ase", options={"calculator": "ase.calculators.nothing:Nope"})
    task = write_label_task(tmp_path / "a", LabelerSpec.from_settings(bad), SINGLE_POINT, _frame())
    assert run_file_task(task).ok
    res = read_label_result(task.directory)
    assert not res.ok and "cannot import" in res.reason
    broken = tmp_path / "broken"
    broken.mkdir()
    out = run_file_task(FileTask(str(broken), (sys.executable, "-m", label_task.MODULE, str(broken))))
    assert not out.ok and "task.json" in out.error and read_label_result(broken) is None


def test_strategy_job_frames_come_back_with_their_labels(tmp_path):
    lab = make_labeler(LJ)
    job = task_string("relax", {"steps": 3, "keep_every": 1, "fmax_eV_A": 1e-6})
    task = write_label_task(tmp_path / "job", LabelerSpec.from_settings(LJ), job, _frame())
    assert run_file_task(task).ok
    res = read_label_result(task.directory)
    assert res.ok and 1 <= len(res.frames) <= 3
    for atoms, labels in res.frames:
        assert atoms.info[keys.CONFIG_TYPE] == keys.CT_RELAX and atoms.info[keys.PARENT_HASH] == "f00"
        assert labels.energy == pytest.approx(lab.label(atoms).energy, abs=1e-6)
        np.testing.assert_array_equal(atoms.arrays[keys.MOL_ID], [0, 1, 2])
    assert res.frames[-1][1].energy < lab.label(_frame()).energy


def test_one_labeler_per_spec_and_process(tmp_path, monkeypatch):
    monkeypatch.setattr(label_task, "_LABELERS", {})
    spec = LabelerSpec.from_settings(LJ)
    for i in range(3):
        assert run_file_task(write_label_task(tmp_path / str(i), spec, SINGLE_POINT, _frame(1.0 + 0.1 * i))).ok
    assert len(label_task._LABELERS) == 1
    other = LabelerSpec.from_settings(LJ.model_copy(update={"options": {**LJ.options, "name": "lj2"}}))
    assert label_task.get_labeler(other) is not label_task.get_labeler(spec)


def test_spec_is_data_with_the_recipe_only_where_needed(tmp_path):
    recipe = load_recipe(EXAMPLES / "emim_bf4.yaml")
    spec = LabelerSpec.from_recipe(recipe, tmp_path / "cache")
    assert spec.context is None and spec.labels["labeler"] == recipe.labels.labeler  # xtb: settings only
    classical = recipe.model_copy(update={"labels": LabelSettings(labeler="classical")})
    spec = LabelerSpec.from_recipe(classical, tmp_path / "cache")
    assert spec.cache_dir == str(tmp_path / "cache")
    back = LabelerSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert back == spec and back.context["forcefield"] == classical.forcefield.model_dump(mode="json")
    assert sorted(d["name"] for d in back.context["species"]) == ["BF4", "EMIM"]
    assert "recipe_path" not in spec.to_json() and "recipe" not in spec.to_json()


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_recipe_round_trips_as_json(name):
    recipe = load_recipe(EXAMPLES / name)
    assert Recipe.model_validate(recipe.model_dump(mode="json")) == recipe


def test_classical_labeler_is_built_from_the_spec_not_a_recipe_file(tmp_path, clandp):
    """The recipe-bound labeler (classical force field) gets its recipe from task.json."""
    pytest.importorskip("openmm")
    from ilforge.recipe import recipe_from_dict

    recipe = recipe_from_dict({
        "name": "ar", "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 1},
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", "path": str(clandp), "cutoff_A": 6.0},
        "labels": {"labeler": "classical", "options": {"compute_stress": False}},
    })
    spec = LabelerSpec.from_recipe(recipe, tmp_path / "cache")
    lab = make_labeler(recipe.labels, recipe, tmp_path / "cache")
    from _ff_helpers import grid_box

    atoms = grid_box(lab.templates, ["EMIM", "BF4"], cell_A=14.0, spacing_A=7.0, seed=3)
    task = write_label_task(tmp_path / "t", spec, SINGLE_POINT, atoms)
    assert run_file_task(task).ok
    res = read_label_result(task.directory)
    assert res.ok, res.reason
    assert res.labels.energy == pytest.approx(lab.label(atoms).energy, abs=1e-6)
