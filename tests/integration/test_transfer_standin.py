"""The paper's transferability finding on stand-in labels (slow: packs, labels and trains two models)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mace")

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_single_composition_energy_error_grows_away_from_it(tmp_path):
    from ilforge.cli import main

    frames = tmp_path / "frames.extxyz"
    subprocess.run([sys.executable, str(REPO / "scripts" / "transfer_standin_frames.py"), str(REPO / "examples" / "li_emim_pf6.yaml"),
                    str(frames), "--frames-per-composition", "5", "--relax-steps", "10"], check=True, capture_output=True)
    rc = main(["transfer", str(REPO / "examples" / "li_emim_pf6.yaml"), "--workdir", str(tmp_path), "--frames", str(frames),
               "--sets", "0.5;0.4,0.6", "--max-epochs", "60", "--set", "batch_size=1", "--set", "energy_weight=100",
               "--set", "learning_rate=0.005", "--set", "dtype=float32", "--test-fraction", "0.2"])
    assert rc == 0
    import json

    res = json.loads((tmp_path / "results" / "transfer.json").read_text())
    e = np.array(res["energy_mae_meV_atom"], dtype=float)
    x = res["x"]
    ends = [x.index(0.0), x.index(1.0)]
    mid = x.index(0.5)
    single, spanning = e[0], e[1]
    assert not res["training_sets"][0]["spans"] and res["training_sets"][1]["spans"]
    assert single[ends].mean() > 5 * single[mid], e  # {0.5}: error grows away from x = 0.5
    assert spanning[ends].mean() < single[ends].mean() / 2, e  # {0.4, 0.6} transfers much better
