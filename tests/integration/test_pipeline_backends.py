"""`ilforge run` with each backend that lives in its own environment (issue 14): the tiny recipe's
classical labels (made once), then train, validate, md and the report with ``training.backend`` set to
deepmd, nequip, allegro, apax or sevenn (SevenNet-0 zero-shot). Marked ``backends`` (`make
test-backends`); a backend whose environment is not created is skipped, saying how to create it.

Plumbing, not physics: tiny models, a 50-step NVT run through the socket calculator, relaxed monitors.
"""

from __future__ import annotations

import json
import shutil

import pytest

from backend_envs import backend_param
from browser import load_page
from tiny_recipe import RECIPE, write_recipe

from ilforge.cli import main

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

COMMON = {"max_epochs": 2, "batch_size": 2, "valid_fraction": 0.25, "test_fraction": 0.25, "threads": 1}
#: tiny settings per backend (cutoff 4 Å: the 96-atom box is 10 Å wide)
TINY = {
    "deepmd": {**COMMON, "max_epochs": 5, "rcut_A": 4.0, "embedding_neuron": [4, 8], "axis_neuron": 2,
               "fitting_neuron": [8, 8]},
    "nequip": {**COMMON, "r_max_A": 4.0, "num_layers": 2, "num_features": 4, "radial_mlp_width": 8},
    "allegro": {**COMMON, "r_max_A": 4.0, "num_scalar_features": 8, "num_tensor_features": 2, "mlp_width": 8},
    "apax": {**COMMON, "r_max_A": 4.0, "n_basis": 4, "n_radial": 2, "nn": [8, 8]},
    "sevenn": {"preset": "zero_shot", "valid_fraction": 0.25, "test_fraction": 0.25},
}


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """The tiny recipe run up to its labels (MACE training is not needed: only the labelled frames are shared)."""
    wd = tmp_path_factory.mktemp("labelled")
    write_recipe(wd / "tiny.yaml")
    assert main(["run", str(wd / "tiny.yaml"), "--workdir", str(wd / "work"),
                 "--only", "plan,build,check,sample,label"]) == 0
    return wd / "work"


@pytest.mark.parametrize("backend", [backend_param(n) for n in sorted(TINY)])
def test_run_trains_runs_md_and_reports_with(backend, labelled, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(labelled, work)
    recipe = tmp_path / "tiny.yaml"
    write_recipe(recipe, training={**TINY[backend], "backend": backend},
                 md={**RECIPE["md"], "timestep_fs": 0.5, "production_ps": 0.02})
    assert main(["run", str(recipe), "--workdir", str(work)]) == 0

    state = json.loads((work / "pipeline.json").read_text())
    assert [s for s, st in state.items() if st["status"] != "done"] == []
    info = json.loads((work / "models" / "mlip" / "model.json").read_text())
    assert info["backend"] == backend
    validation = json.loads((work / "results" / "validate_mlip.json").read_text())
    assert validation  # errors on the test frames exist
    md = json.loads((work / "results" / "md.json").read_text())
    assert [r["steps_done"] for r in md] == [r["steps_total"] for r in md] and md[0]["steps_done"] > 0
    page = load_page(work / "report.html")
    assert page["attrs"]["errors"] == "0"
    assert f">{backend}<" in page["dom"]  # the training table names the backend
