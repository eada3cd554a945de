"""The labelling loop with a local pool and Dask: file-described tasks, results stored as they come,
retries, recorded failures, a worker crash recorded as a retryable failure."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from ase import Atoms

from ilforge.engine.base import Executor
from ilforge.engine.compute import ComputeError, ComputeSettings, load_compute, make_executor
from ilforge.engine.local import LocalPool
from ilforge.reference.label_task import LabelerSpec
from ilforge.reference.registry import make_labeler
from ilforge.reference.runner import run_labelling
from ilforge.reference.settings import LabelSettings
from ilforge.store.frames import DONE, FAILED, FrameStore

_OMP = os.environ.get("OMP_NUM_THREADS")


@pytest.fixture(autouse=True)
def _allow_recipe_code(monkeypatch):
    """The fake calculators are code named by the settings: the user's opt-in (inherited by workers)."""
    monkeypatch.setenv("ILFORGE_ALLOW_RECIPE_CODE", "1")


def _frames():
    out = []
    for x0 in (-0.2, 0.2, 1.0, 1.5, 2.0):  # bad, flaky, good, good, good
        pos = np.array([[x0, 0.0, 0.0], [x0 + 1.1, 0.0, 0.0], [x0, 1.2, 0.0]])
        out.append(Atoms("Ar3", positions=pos, cell=[8, 8, 8], pbc=True))
    return out


def _setup(tmp_path):
    settings = LabelSettings(labeler="ase", options={"calculator": "_fake_calculators:FlakyLJ",
                                                      "kwargs": {"marker_dir": str(tmp_path)}}, max_attempts=3)
    lab = make_labeler(settings)
    store = FrameStore.open(tmp_path / "frames.db")
    hs = store.add_many(_frames(), composition_id="c", config_type="rattle")
    store.request(hs, lab.level_of_theory)
    return settings, lab, store, hs


def _check(store, lot, hs, summary):
    recs = {r.frame_hash: r for r in store.label_records(lot)}
    bad, flaky, *good = hs
    assert recs[bad].status == FAILED and recs[bad].attempts == 3 and "SCF not converged" in recs[bad].reason
    assert recs[flaky].status == DONE and recs[flaky].attempts == 2
    assert all(recs[h].status == DONE and recs[h].attempts == 1 for h in good)
    assert summary.done == 4 and summary.failed == 1 and summary.failed_attempts == 4  # 3 for the bad frame, 1 for the flaky one
    assert store.todo(lot, 3) == []
    for f in store.labelled_frames(lot):
        a = f.copy()
        from ase.calculators.lj import LennardJones

        a.calc = LennardJones(sigma=1.0, epsilon=1.0, rc=3.0)
        assert f.info["REF_energy"] == pytest.approx(a.get_potential_energy(), abs=1e-12)


def test_local_pool_retries_and_records_failures(tmp_path):
    settings, lab, store, hs = _setup(tmp_path)
    spec = LabelerSpec.from_settings(settings)
    with LocalPool(workers=2) as pool:
        assert isinstance(pool, Executor)
        summary = run_labelling(store, spec, lab.level_of_theory, pool, tmp_path / "tasks", max_attempts=3)
    _check(store, lab.level_of_theory, hs, summary)
    assert set(summary.workers.values()) == {"1"}  # OMP_NUM_THREADS=1 in every worker
    if sys.platform.startswith("linux"):
        assert summary.max_threads == 1  # and no OpenMP/BLAS thread pool was started
    assert "OMP_NUM_THREADS" not in os.environ or os.environ["OMP_NUM_THREADS"] == _OMP  # restored
    # a rerun has nothing to do
    with LocalPool(workers=1) as pool:
        assert run_labelling(store, spec, lab.level_of_theory, pool, tmp_path / "tasks", max_attempts=3).submitted == 0
    assert not (tmp_path / "tasks").exists()  # every task directory was removed


def test_dask_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    settings, lab, store, hs = _setup(tmp_path)
    spec = LabelerSpec.from_settings(settings)
    compute = ComputeSettings(backend="dask", workers=2, dask={"cluster": "local"})
    with make_executor(compute) as ex:
        assert isinstance(ex, Executor)
        summary = run_labelling(store, spec, lab.level_of_theory, ex, tmp_path / "tasks", max_attempts=3)
    _check(store, lab.level_of_theory, hs, summary)
    assert set(summary.workers.values()) == {"1"}


def test_compute_file(tmp_path):
    p = tmp_path / "compute.yaml"
    p.write_text("backend: dask\nworkers: 3\ndask: {cluster: slurm, jobs: 2, options: {cores: 8, memory: 16GB}}\n")
    c = load_compute(p, workers=4)
    assert c.workers == 4 and c.dask.cluster == "slurm" and c.dask.options["cores"] == 8 and c.in_flight == 8
    p.write_text("backend: dask\ndask: {cluster: address}\n")
    with pytest.raises(ComputeError, match="address"):
        load_compute(p)
    with pytest.raises(ComputeError, match="not found"):
        load_compute(tmp_path / "missing.yaml")


def test_slurm_job_script_limits_threads():
    pytest.importorskip("dask_jobqueue")
    from ilforge.engine.dask_cluster import jobqueue_cluster

    c = ComputeSettings(backend="dask", dask={"cluster": "slurm", "options": {"cores": 4, "memory": "8GB",
                                                                          "walltime": "01:00:00"}})
    cluster = jobqueue_cluster(c)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "export OMP_NUM_THREADS=1" in script and "#SBATCH" in script and "--nworkers 4" in script
    with pytest.raises(ComputeError, match="cores and memory"):
        jobqueue_cluster(ComputeSettings(backend="dask", dask={"cluster": "pbs"}))


def test_a_crashing_worker_is_recorded_and_the_pool_restarts(tmp_path):
    settings = LabelSettings(labeler="ase", options={"calculator": "_fake_calculators:CrashingLJ",
                                                      "kwargs": {"marker_dir": str(tmp_path)}})
    lab = make_labeler(settings)
    store = FrameStore.open(tmp_path / "frames.db")
    frames = _frames()[2:]
    crash = frames[0].copy()
    crash.positions[:, 0] += 6.0
    hs = store.add_many([crash] + frames, composition_id="c")
    store.request(hs, lab.level_of_theory)
    with LocalPool(workers=1, max_in_flight=1) as pool:
        summary = run_labelling(store, LabelerSpec.from_settings(settings), lab.level_of_theory, pool,
                                tmp_path / "tasks", max_attempts=2)
    rec = store.label_record(hs[0], lab.level_of_theory)
    assert rec.status == FAILED and rec.attempts == 2 and "worker error" in rec.reason
    assert summary.done == 3 and store.status_counts(lab.level_of_theory)[DONE] == 3


def test_dask_abort_cancels_tasks(tmp_path):
    pytest.importorskip("distributed")
    import time

    ex = make_executor(ComputeSettings(backend="dask", workers=1, dask={"cluster": "local"}))
    futs = [ex.submit(time.sleep, 30) for _ in range(3)]
    t0 = time.perf_counter()
    ex.abort()
    assert time.perf_counter() - t0 < 20
    assert all(f.status in ("cancelled", "lost", "error") or f.cancelled() for f in futs)


def test_many_label_tasks_are_submitted_before_single_points():
    """A strategy task (reference MD: tens of labels) starts first, not alone at the end."""
    from ilforge.reference.runner import submission_order
    from ilforge.store.frames import SINGLE_POINT, LabelRecord

    def rec(h, task):
        return LabelRecord(h, "lot", "pending", 0, "", True, 0, task)

    recs = [rec("a", SINGLE_POINT), rec("b", '{"strategy": "reference_md"}'), rec("c", SINGLE_POINT),
            rec("d", '{"strategy": "relax"}')]
    assert [r.frame_hash for r in submission_order(recs)] == ["b", "d", "a", "c"]
