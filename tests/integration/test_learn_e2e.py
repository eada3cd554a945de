"""`ilforge learn` end to end on a tiny two-composition recipe (classical labels, committees of two
MACE models trained for a few epochs, 50 fs of exploration MD), SIGKILLed in the middle of its first
generation and run again: it finishes, and no frame is labelled twice.

This tests the plumbing of the loop, not the physics (docs/learning.md and benchmarks/active_learning.py
cover a loop that learns)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ilforge import keys
from ilforge.cli import main
from ilforge.store.frames import DONE, FrameStore

SRC = Path(__file__).resolve().parents[2] / "src"

RECIPE = {
    "name": "tinylearn", "seed": 3,
    "components": {"LiBF4": {"Li": 1, "BF4": 1}, "EMIM_BF4": {"EMIM": 1, "BF4": 1}},
    "box": {"ion_pairs": 4}, "temperatures_K": [350.0],
    "compositions": [{"id": "x0.25", "fractions": {"LiBF4": 0.25, "EMIM_BF4": 0.75}},
                     {"id": "x0.50", "fractions": {"LiBF4": 0.5, "EMIM_BF4": 0.5}}],
    "training_compositions": ["x0.25", "x0.50"],
    "forcefield": {"type": "clandp", "cutoff_A": 4.0},
    "sampling": {"equilibration_ps": 1, "production_ps": 3, "interval_ps": 0.5},
    "labels": {"labeler": "classical", "frames_per_composition": 6, "config_types": ["classical_md"],
               "strategies": {"volume_scan": {"percent": []}}},
    "reference_check": {"enabled": False},
    "training": {"preset": "small", "max_epochs": 2, "batch_size": 2, "valid_fraction": 0.2, "test_fraction": 0.2,
                 "num_channels": 8, "dtype": "float32"},
    "md": {"ensemble": "nvt", "timestep_fs": 0.5, "monitors": {"temperature_factor": 3.0}},
    "learning": {"generations": 2, "committee_size": 2, "initial_frames": 10, "frames_per_generation": 4,
                 "max_labels": 8, "md_ps": 0.05, "save_every_steps": 5, "trust_low_eV_A": 0.001, "trust_high_eV_A": 50.0},
}


def _learn_killed_in_generation_0(recipe: Path, work: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "ilforge.cli", "learn", str(recipe), "--workdir", str(work)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = work / "models" / "mlip" / "gen_0" / "generation.json"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None and not state.is_file():
        time.sleep(0.2)
    assert proc.poll() is None, f"ilforge learn ended before it could be killed: {proc.stdout.read().decode()}"
    os.kill(proc.pid, signal.SIGKILL)  # trained, exploring: mid-generation
    proc.wait(timeout=60)
    assert json.loads(state.read_text())["phase"] == "trained"


@pytest.mark.slow
def test_learn_end_to_end_with_sigkill(tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    work = tmp_path / "work"
    assert main(["run", str(recipe), "--workdir", str(work), "--only", "plan,build,check,sample,label"]) == 0
    _learn_killed_in_generation_0(recipe, work)
    assert main(["learn", str(recipe), "--workdir", str(work)]) == 0
    doc = json.loads((work / "results" / "learning.json").read_text())
    assert doc["status"] in ("converged", "budget", "generations") and [g["generation"] for g in doc["generations"]] == [0, 1]
    store = FrameStore.open(work / "frames.db")
    lot = doc["level_of_theory"]
    records = store.label_records(lot)
    assert len({r.frame_hash for r in records}) == len(records)  # one record per frame
    assert all(r.attempts <= 1 and r.status == DONE for r in records)  # none labelled twice, none failed
    selected = [s["hash"] for g in doc["generations"] for s in g["selected"]]
    learned = [a for a in store.labelled_frames(lot) if a.info.get(keys.CONFIG_TYPE) == keys.CT_ACTIVE_LEARNING]
    assert sorted(a.info[keys.FRAME_HASH] for a in learned) == sorted(selected) and 0 < len(selected) <= 8
    assert doc["generations"][1]["n_train"] == doc["n_initial"] + len(doc["generations"][0]["selected"])
    # a third run redoes nothing
    before = [(r.frame_hash, r.status, r.attempts) for r in store.label_records(lot)]
    assert main(["learn", str(recipe), "--workdir", str(work)]) == 0
    assert [(r.frame_hash, r.status, r.attempts) for r in store.label_records(lot)] == before
