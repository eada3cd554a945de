"""`ilforge label` with a Dask LocalCluster compute file, data strategies and isolated energies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ilforge import keys
from ilforge.project import LABELS, Project
from ilforge.store.frames import FrameStore

pytest.importorskip("tblite")
pytest.importorskip("distributed")

DATA = Path(__file__).resolve().parents[1] / "data"
SRC = Path(__file__).resolve().parents[2] / "src"
LOT = "xtb:GFN1-xTB;etemp=300K;acc=1"


def test_label_cli_dask_strategies(tmp_path):
    (tmp_path / "boxes").mkdir()
    shutil.copy(DATA / "emim_bf4_4ip.extxyz", tmp_path / "boxes" / "neat_298.15K.extxyz")
    recipe = {
        "name": "emim_bf4", "seed": 1, "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": 4}, "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "labels": {
            "labeler": "xtb", "method": "GFN1-xTB", "isolated_ions": True,
            "strategies": {"rattle": {"copies": 1}, "volume_scan": {"percent": [3.0]},
                           "reference_md": {"steps": 2, "keep_every": 2}, "relax": {"steps": 1}},
        },
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    (tmp_path / "compute.yaml").write_text("backend: dask\nworkers: 2\ndask: {cluster: local}\n")
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "ilforge.cli", "label", str(tmp_path / "recipe.yaml"), "--workdir", str(tmp_path),
           "--compute", str(tmp_path / "compute.yaml")]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    from ilforge.progress import read_status

    status = read_status(Project(tmp_path).progress_file("label"))  # what `ilforge status` shows
    assert status["finished"] and status["done"] == status["total"] > 0
    store = FrameStore.open(tmp_path / "frames.db")
    frames = store.labelled_frames(LOT)
    types = sorted(f.info[keys.CONFIG_TYPE] for f in frames)
    assert types == ["box", "rattle", "reference_md", "relax", "volume_scan"]
    box_hash = next(f.info[keys.FRAME_HASH] for f in frames if f.info[keys.CONFIG_TYPE] == "box")
    assert all(f.info.get(keys.PARENT_HASH) == box_hash for f in frames if f.info[keys.CONFIG_TYPE] != "box")
    assert all(f.info[keys.COMPOSITION_ID] == "neat" and f.info[keys.TEMPERATURE_K] == 298.15 for f in frames)
    assert set(store.isolated_energies(LOT)) == {"B", "C", "F", "H", "N"}
    assert set(store.isolated_ion_energies(LOT)) == {"EMIM", "BF4"}
    doc = Project(tmp_path).read_results(LABELS)  # the CLI runs the stage function: same results file
    assert doc["level_of_theory"] == LOT and doc["status"]["done"] == 5 and doc["strategy_jobs"] == 2
    # a second run has nothing to do
    again = subprocess.run(cmd + ["--workers", "1", "--no-progress"], env=env, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and "this run: 0 done" in again.stdout, again.stdout + again.stderr
    assert len(store.labelled_frames(LOT)) == 5
