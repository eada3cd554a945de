"""Resumable labelling: SIGKILL `ilforge label` half way, run again, compare with an uninterrupted run.

EMIM-BF4, 4 ion pairs (96 atoms, tests/data/emim_bf4_4ip.extxyz), rattled copies, GFN1-xTB.
The default test uses 6 frames; the slow one the full 40 of the issue's acceptance test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase.io import read

from ilforge import keys
from ilforge.engine.compute import ComputeSettings
from ilforge.project import Project
from ilforge.recipe import load_recipe
from ilforge.reference import strategies
from ilforge.reference.stage import run_label
from ilforge.store.frames import DONE, FrameStore

pytest.importorskip("tblite")

DATA = Path(__file__).resolve().parents[1] / "data"
SRC = Path(__file__).resolve().parents[2] / "src"
LOT = "xtb:GFN1-xTB;etemp=300K;acc=1"


def _project(path: Path, n_frames: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    recipe = {
        "name": "emim_bf4", "seed": 1, "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": 4}, "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "labels": {"labeler": "xtb", "method": "GFN1-xTB", "frames_per_composition": 0, "isolated_atoms": False,
                   "strategies": {"volume_scan": {"percent": []}}},  # only the stored frames
    }
    (path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    box = read(DATA / "emim_bf4_4ip.extxyz")
    store = FrameStore.open(path / "frames.db")
    store.add_many(strategies.rattle(box, n_frames, 0.05, seed=3), composition_id="neat", temperature_K=298.15,
                   source="test")
    assert len(store) == n_frames
    return path


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _gone(pids: list[int], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = []
        for p in pids:
            try:
                state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(p)
        if not alive:
            return True
        time.sleep(0.2)
    return False


def _kill_half_way(work: Path, n_frames: int, workers: int, sig=signal.SIGKILL) -> int:
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "ilforge.cli", "label", str(work / "recipe.yaml"), "--workdir", str(work),
           "--workers", str(workers), "--no-progress"]
    # SIGINT back to its default in the child: a test run started in the background by a
    # non-interactive shell inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    store = FrameStore.open(work / "frames.db")
    target = n_frames // 2
    deadline = time.monotonic() + 60 + 15 * n_frames
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = store.status_counts(LOT)[DONE] if store.levels_of_theory() else 0
        if done >= target:
            break
        time.sleep(0.2)
    assert proc.poll() is None, f"ilforge label ended before it could be killed: {proc.stdout.read().decode()}"
    workers_pids = _children(proc.pid)
    os.kill(proc.pid, sig)
    rc = proc.wait(timeout=60)
    if sig == signal.SIGINT:
        out = proc.stdout.read().decode()
        assert rc == 130 and "interrupted" in out, out
    assert _gone(workers_pids), "worker processes outlived `ilforge label`"
    return done


def _check_resumed(work: Path, reference: dict[str, float] | None, n_frames: int, workers: int,
                   sig=signal.SIGKILL):
    killed_at = _kill_half_way(work, n_frames, workers, sig)
    store = FrameStore.open(work / "frames.db")
    after_kill = store.status_counts(LOT)[DONE]
    assert n_frames // 2 <= after_kill < n_frames, (killed_at, after_kill)
    assert any((work / "tasks" / "label").iterdir())  # the killed run left its tasks in flight
    recipe = load_recipe(work / "recipe.yaml")
    result = run_label(Project(work), recipe, compute=ComputeSettings(workers=workers))
    summary, counts = result.run, result.status
    assert not (work / "tasks" / "label").exists()  # replaced, run and removed
    assert summary.done == n_frames - after_kill  # the rerun labels only what was missing
    assert counts == {"pending": 0, "done": n_frames, "failed": 0}
    records = store.label_records(LOT)
    assert len(records) == n_frames and len({r.frame_hash for r in records}) == n_frames
    assert all(r.attempts == 1 for r in records)  # no frame labelled twice
    energies = {f.info[keys.FRAME_HASH]: f.info[keys.REF_ENERGY] for f in store.labelled_frames(LOT)}
    assert len(energies) == n_frames
    if reference is not None:
        assert set(energies) == set(reference)
        for h, e in energies.items():
            assert e == pytest.approx(reference[h], abs=1e-8)
    return energies


def _uninterrupted(work: Path, workers: int) -> dict[str, float]:
    recipe = load_recipe(work / "recipe.yaml")
    result = run_label(Project(work), recipe, compute=ComputeSettings(workers=workers))
    summary, counts = result.run, result.status
    assert counts["done"] == summary.done
    assert Project(work).read_results("labels")["status"] == counts
    # every worker process ran tblite with one OpenMP thread
    assert set(summary.workers.values()) == {"1"} and len(summary.workers) == workers
    if sys.platform.startswith("linux"):
        assert summary.max_threads == 1  # tblite and BLAS ran single-threaded
    return {f.info[keys.FRAME_HASH]: f.info[keys.REF_ENERGY] for f in FrameStore.open(work / "frames.db").labelled_frames(LOT)}


def test_sigkill_and_resume_small(tmp_path):
    n = 6
    ref = _uninterrupted(_project(tmp_path / "ref", n), workers=1)
    assert len(ref) == n
    energies = _check_resumed(_project(tmp_path / "run", n), ref, n, workers=1)
    assert len(set(np.round(list(energies.values()), 6))) == n  # distinct frames, distinct energies


def test_ctrl_c_and_resume(tmp_path):
    # 8 frames on 2 workers: when half are done, at least two have not started yet, so Ctrl-C
    # lands while there is work left (with 4, the last two could finish before the signal)
    _check_resumed(_project(tmp_path / "run", 8), None, 8, workers=2, sig=signal.SIGINT)


@pytest.mark.slow
def test_sigkill_and_resume_40_frames(tmp_path):
    n = 40
    ref = _uninterrupted(_project(tmp_path / "ref", n), workers=2)
    _check_resumed(_project(tmp_path / "run", n), ref, n, workers=2)
