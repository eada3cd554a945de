"""The md and analyze stages on a project: where they write, the seed they use, and that
``ilforge md`` is the same function (same run directories, same results file)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from ase import Atoms
from ase.io import write

from ilforge.analysis.stage import run_analyze
from ilforge.cli import main
from ilforge.engine.task import read_task_json
from ilforge.md.result import MDResult
from ilforge.md.stage import md_settings, run_md
from ilforge.project import MD, Project, analysis_name, compare_name
from ilforge.recipe import recipe_from_dict
from ilforge.seeds import derive_seed

RECIPE = {
    "name": "t",
    "seed": 7,
    "components": {"S": {"EMIM": 1, "BF4": 1}},
    "box": {"ion_pairs": 2},
    "temperatures_K": [300],
    "compositions": [{"id": "n", "fractions": {"S": 1.0}}],
    "md": {"ensemble": "nvt", "timestep_fs": 1.0, "equilibration_ps": 0.0, "production_ps": 0.02, "save_every_steps": 2,
           "monitors": {"bonds": False}},
    "analysis": {"properties": ["density"], "n_blocks": 2},
}


def _ar_box(path):
    """27 LJ atoms (the named 'lj' calculator: σ = 2.5 Å) on a grid, as the project's packed box."""
    rng = np.random.default_rng(0)
    grid = np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], float) * 3.0
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, Atoms("Ar27", positions=grid + rng.normal(0, 0.03, grid.shape), cell=np.eye(3) * 9.0, pbc=True), format="extxyz")


@pytest.fixture
def project(tmp_path):
    proj = Project(tmp_path / "w")
    _ar_box(proj.box("n", 300))
    return proj


def test_md_stage_runs_into_the_project_and_cli_finds_the_same_runs(project, tmp_path, capsys):
    recipe = recipe_from_dict(RECIPE)
    res = run_md(project, recipe, model_name="lj")
    assert res.summary() == {"runs": 1, "stopped": []}
    run_dir = project.md_run("n", "T300K")
    assert project.md_runs("n") == [run_dir]
    rec = MDResult.load(run_dir)
    assert rec.completed and rec.steps_done == 20 and rec.temperature_K == 300.0
    # the seed: derived from the recipe's seed per composition and state point
    assert read_task_json(run_dir)["seed"] == derive_seed(7, "md", "n", "T300K")
    rows = project.read_results(MD)
    assert rows[0]["composition_id"] == "n" and rows[0]["status"] == "completed"
    # the CLI verb calls the same function: it finds the finished run where the stage wrote it
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(RECIPE))
    assert main(["md", str(recipe_file), "--workdir", str(project.root), "--model", "lj"]) == 0
    assert "n: T=300 K: completed 20 steps" in capsys.readouterr().out
    assert MDResult.load(run_dir).wall_s == rec.wall_s  # not rerun
    # analyze: density of the completed run, compared with the experimental system of the composition
    out = run_analyze(project, recipe)
    assert out.summary()["n"]["runs"] == 1 and out.summary()["n"]["system"] == "EMIM_BF4"
    doc = project.read_results(analysis_name("n"))
    assert doc["runs"][0]["density"]["density_mean_g_cm3"] > 0 and doc["runs"][0]["status"] == "completed"
    assert project.read_results(compare_name("n"))["system"] == "EMIM_BF4"


def test_explicit_md_seed_wins_and_overrides_merge(project):
    recipe = recipe_from_dict(RECIPE)
    s = md_settings(recipe, {"seed": 5, "monitors": {"check_every_steps": 4}, "production_ps": None})
    assert s.seed == 5 and s.monitors.check_every_steps == 4 and s.monitors.bonds is False and s.production_ps == 0.02
    run_md(project, recipe, model_name="lj", overrides={"seed": 5})
    assert read_task_json(project.md_run("n", "T300K"))["seed"] == 5


def test_unknown_model_is_a_clear_error(project):
    from ilforge.errors import IlforgeError

    with pytest.raises(IlforgeError, match="model 'nope' not found"):
        run_md(project, recipe_from_dict(RECIPE), model_name="nope")
