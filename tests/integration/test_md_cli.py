"""Through the CLI on CPU: a short MLIP NPT run with a tiny MACE model gives a density, an MSD and an RDF;
a deliberately bad (untrained, large-scale) model is stopped by a monitor with a clear message."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))

pytest.importorskip("mace")

from mace_tiny import tiny_mace  # noqa: E402
from md_toy import li_bf4_box  # noqa: E402

from ilforge.cli import main  # noqa: E402


def model_dir(path, scale: float, seed: int = 0):
    """A tiny untrained MACE model as an ilforge model directory (model.json naming its file)."""
    from ilforge.models.artifact import ModelArtifact

    path.mkdir(parents=True, exist_ok=True)
    tiny_mace(path / "model.model", scale=scale, seed=seed)
    ModelArtifact(path, {"backend": "mace", "model_file": "model.model", "settings": {"dtype": "float64"}}).save()
    return path


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    from ase.io import write

    d = tmp_path_factory.mktemp("md")
    atoms, _ = li_bf4_box(8)
    path = d / "LiBF4.extxyz"
    write(path, atoms, format="extxyz")
    return path


def test_short_npt_run_gives_density_msd_rdf(box, tmp_path, capsys):
    model = model_dir(tmp_path / "tiny", scale=1.0)
    out = tmp_path / "md"
    # an untrained model decomposes BF4 after ~65 fs (next test); 30 fs stay below that: plumbing, not physics
    rc = main(["md", "--box", str(box), "--model", str(model), "--ensemble", "npt", "--temperature-K", "300", "--pressure-bar", "1",
               "--equilibration-ps", "0.005", "--production-ps", "0.025", "--save-every", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "completed 60 steps" in text
    run_dir = out / "T300K_P1bar"
    assert (run_dir / "production.h5").is_file() and json.loads((run_dir / "run.json").read_text())["status"] == "completed"
    res = tmp_path / "analysis.json"
    rc = main(["analyze", str(run_dir), "--rdf", "Li-F", "--n-blocks", "2", "--properties", "density,diffusion,rdf", "--out", str(res)])
    text = capsys.readouterr().out
    assert rc == 0, text
    run = json.loads(res.read_text())["runs"][0]
    assert 0.1 < run["density"]["density_mean_g_cm3"] < 3.0
    assert run["temperature_K"] == 300 and run["pressure_bar"] == 1
    msd = run["diffusion"]["msd_A2"]["BF4"]
    assert len(msd) == 51 and msd[0] == 0 and msd[-1] > 0
    g = run["rdf"]["Li-F"]["g"]
    assert len(g) == 200 and max(g) > 0
    assert "com:Li-BF4" in run["rdf"]
    assert "density" in text and "RDF Li-F" in text


def test_bad_model_is_stopped_by_a_monitor(box, tmp_path, capsys):
    model = model_dir(tmp_path / "bad", scale=100.0)
    rc = main(["md", "--box", str(box), "--model", str(model), "--ensemble", "nvt", "--temperature-K", "300",
               "--equilibration-ps", "0", "--production-ps", "0.5", "--out", str(tmp_path / "md")])
    text = capsys.readouterr().out
    assert rc == 3
    assert "STOPPED" in text and "by a monitor" in text
    assert "temperature runaway" in text or "broke" in text or "distance" in text
    doc = json.loads((tmp_path / "md" / "T300K" / "run.json").read_text())
    assert doc["status"] == "stopped" and doc["steps_done"] < 1000


def test_committee_of_mace_models_saves_high_spread_frames(box, tmp_path, capsys):
    from ase.io import read

    from ilforge.models.committee import COMMITTEE_JSON

    committee = tmp_path / "committee"
    for k in range(2):
        model_dir(committee / f"member_{k}", scale=1.0, seed=k)
    (committee / COMMITTEE_JSON).write_text(json.dumps({"members": ["member_0", "member_1"]}))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: t\ncomponents:\n  LiBF4: {Li: 1, BF4: 1}\nbox:\n  ion_pairs: 8\ntemperatures_K: [300]\ncompositions:\n  - {id: neat, fractions: {LiBF4: 1.0}}\n"
        "md:\n  ensemble: nvt\n  equilibration_ps: 0\n  production_ps: 0.01\n  monitors:\n    force_spread_eV_A: 0.001\n"
    )
    rc = main(["md", str(recipe), "--box", str(box), "--model", str(committee), "--out", str(tmp_path / "md")])
    assert rc == 0, capsys.readouterr().out
    doc = json.loads((tmp_path / "md" / "T300K" / "run.json").read_text())
    spread = doc["monitors"]["committee_spread"]
    assert spread["committee"] and spread["frames_saved"] == 2 and spread["max_force_spread_eV_A"] > 0.001
    frames = read(spread["saved_to"], index=":")
    assert len(frames) == 2 and frames[0].info["committee_force_spread_eV_A"] > 0.001
