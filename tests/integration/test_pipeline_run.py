"""`ilforge run` end to end on a tiny recipe (classical labels, a few epochs, a short MD run), the
report in a real browser with every section, and a rerun that redoes nothing.

This tests the plumbing of the stages, not the physics: the model is barely trained, so the MD
monitors are relaxed (the demo and docs/validation.md cover a usable model).
"""

import json
import shutil

import pytest
import yaml

from browser import load_page

from ilforge.cli import main
from tiny_recipe import RECIPE

SECTIONS = ["recipe", "reference", "data", "training", "errors", "md", "properties", "structure"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """`ilforge run` on the tiny recipe. The boxes and classical snapshots come from `ilforge build` and
    `ilforge sample` in a twin directory ``cli`` (copied before labelling): OpenMM's CPU platform does not
    sum forces in a fixed order, so two samplings differ, and the CLI-vs-pipeline comparison below needs
    both to start from the same frames. The pipeline's build and sample stages then find them done."""
    wd = tmp_path_factory.mktemp("tiny")
    recipe = wd / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    for verb in ("build", "sample"):
        assert main([verb, str(recipe), "--workdir", str(wd / "cli")]) == 0
    shutil.copytree(wd / "cli", wd / "work")
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
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    status = {n: s for n, s, _ in stage_status(load_recipe(path), Project(work))}
    assert [n for n, s in status.items() if s == "stale"] == ["md", "analyze", "report"]


def _files(root, parts=("boxes", "sampled", "models", "md", "results")) -> set[str]:
    skip = ("logs", "checkpoints", ".log", ".txt", ".png", ".lock", ".tmp", "task")
    return {str(p.relative_to(root)) for part in parts for p in (root / part).rglob("*")
            if p.is_file() and not any(s in str(p.relative_to(root)) for s in skip)}


def _close(a, b, path=""):
    """Recursive comparison of two JSON documents: numbers to 1e-6 relative (timings excepted)."""
    if isinstance(a, dict):
        keys = {k for k in a if not any(t in k for t in ("time", "wall", "_s", "per_s", "seconds", "started", "finished",
                                                         "threads", "directory", "path", "outdir", "production", "plots"))}
        assert keys <= set(b), f"{path}: keys {sorted(keys - set(b))} missing"
        for k in keys:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(a)} vs {len(b)} items"
        for k, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{k}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert b == pytest.approx(a, rel=1e-6, abs=1e-9, nan_ok=True), f"{path}: {a} vs {b}"
    elif isinstance(a, str) and isinstance(b, str):
        assert a.replace("/work/", "/cli/") == b, f"{path}: {a!r} vs {b!r}"  # paths name their own project
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def test_cli_verbs_write_what_the_pipeline_writes(project):
    """`ilforge label/train/validate/md` one after the other (after `build` and `sample`, see the fixture)
    produce the same files, in the same places, with the same numbers as `ilforge run` (they call the
    same stage functions)."""
    recipe, work = project
    cli = work.parent / "cli"
    # the check stage's snapshots (a side stage; OpenMM runs differ), so validate's pressure check sees the same frames
    (cli / "results").mkdir(exist_ok=True)
    for name in ("reference_check.json", "reference_check.extxyz"):
        shutil.copyfile(work / "results" / name, cli / "results" / name)
    for verb in ("label", "train", "validate", "md"):
        assert main([verb, str(recipe), "--workdir", str(cli)]) in (0, 3), verb  # 3: an MD run stopped by a monitor
    parts = ("boxes", "sampled", "models", "md")
    assert _files(cli, parts) == _files(work, parts)
    for name in ("labels", "md") + tuple(p.stem for p in (work / "results").glob("validate_*.json")):
        _close(json.loads((work / "results" / f"{name}.json").read_text()),
               json.loads((cli / "results" / f"{name}.json").read_text()), name)
    for run_json in (work / "md").rglob("run.json"):
        _close(json.loads(run_json.read_text()), json.loads((cli / run_json.relative_to(work)).read_text()), str(run_json))
