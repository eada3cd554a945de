"""`ilforge run` end to end on a tiny recipe (classical labels, a few epochs, a short MD run), the
report in a real browser with every section, and a rerun that redoes nothing.

This tests the plumbing of the stages, not the physics: the model is barely trained, so the MD
monitors are relaxed (the demo and docs/validation.md cover a usable model).
"""

import json

import pytest
import yaml

from browser import load_page

from ilforge.cli import main

RECIPE = {
    "name": "tiny",
    "seed": 3,
    "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
    "box": {"ion_pairs": 4},
    "temperatures_K": [298.15],
    "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
    "training_compositions": ["neat"],
    "forcefield": {"type": "generic", "cutoff_A": 4.5},  # the 96-atom box is 10 Å wide
    "sampling": {"equilibration_ps": 1, "production_ps": 4, "interval_ps": 0.5},
    "labels": {"labeler": "classical", "frames_per_composition": 8},
    "training": {"preset": "small", "max_epochs": 3, "valid_fraction": 0.25, "test_fraction": 0.25, "batch_size": 2},
    "md": {
        "ensemble": "nvt",
        "timestep_fs": 0.25,
        "equilibration_ps": 0.0025,
        "production_ps": 0.01,
        "save_every_steps": 2,
        "monitors": {"bonds": False, "temperature_factor": 100.0, "min_distance_any_A": 0.1, "min_distances_A": {}},
    },
    "analysis": {"properties": ["density", "rdf", "diffusion"], "rdf_pairs": [["B", "F"]], "n_blocks": 2},
}

SECTIONS = ["recipe", "data", "training", "errors", "md", "properties", "structure"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    wd = tmp_path_factory.mktemp("tiny")
    recipe = wd / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    assert main(["run", str(recipe), "--workdir", str(wd / "work")]) == 0
    return recipe, wd / "work"


def test_every_stage_done_and_report_in_browser(project):
    recipe, work = project
    state = json.loads((work / "pipeline.json").read_text())
    assert [s for s, st in state.items() if st["status"] != "done"] == []
    page = load_page(work / "report.html")
    assert page["section_ids"] == SECTIONS
    assert page["attrs"]["loaded"] == str(len(SECTIONS))
    assert page["attrs"]["errors"] == "0" and page["attrs"]["broken-images"] == "0"
    assert "EMIM_BF4" in page["dom"]  # the properties table names the experimental system


def test_rerun_skips_every_stage(project, capsys):
    recipe, work = project
    before = json.loads((work / "pipeline.json").read_text())
    capsys.readouterr()
    assert main(["run", str(recipe), "--workdir", str(work)]) == 0
    out = capsys.readouterr().out
    assert out.count("up to date, skipped") == len(before)
    after = json.loads((work / "pipeline.json").read_text())
    assert {k: v["finished"] for k, v in after.items()} == {k: v["finished"] for k, v in before.items()}


def test_status_lists_stages(project, capsys):
    _, work = project
    assert main(["status", str(work)]) == 0
    out = capsys.readouterr().out
    assert "train     done" in out and "frame store:" in out


def test_changed_md_settings_rerun_md_and_downstream_only(project, capsys, tmp_path):
    recipe, work = project
    changed = dict(RECIPE, md=dict(RECIPE["md"], production_ps=0.0125))
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(changed))
    from ilforge.pipeline import stage_status
    from ilforge.recipe import load_recipe
    from ilforge.stages import STAGES

    status = {n: s for n, s, _ in stage_status(load_recipe(path), work, STAGES)}
    assert [n for n, s in status.items() if s == "stale"] == ["md", "analyze", "report"]
