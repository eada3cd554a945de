"""The active-learning loop's bookkeeping (no MLIP): the initial set, which frames each generation trains
on, the label budget, convergence, the stage's place in the pipeline and the report section."""

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.labels import Labels
from ilforge.learn.loop import convergence, labels_spent, pick_initial, request_selection, training_frames
from ilforge.learn.selection import FROM_WINDOW, Pool
from ilforge.store.frames import FrameStore

LOT = "classical:test"


def frame(cid: str, i: int, **info) -> Atoms:
    a = Atoms("LiF", positions=[[0, 0, 0], [1.5 + 0.01 * i, 0, 0]], cell=[8, 8, 8], pbc=True)
    a.info.update({keys.COMPOSITION_ID: cid, keys.CONFIG_TYPE: keys.CT_CLASSICAL_MD, **info})
    return a


def labels(a) -> Labels:
    return Labels(energy=-1.0, forces=np.zeros((len(a), 3)), stress=None)


@pytest.fixture
def store(tmp_path):
    s = FrameStore.open(tmp_path / "frames.db")
    for i in range(6):
        for cid in ("a", "b"):
            a = frame(cid, i if cid == "a" else 50 + i)
            s.add_labelled(a, labels(a), LOT)
    return s


def test_initial_set_is_spread_over_compositions(store):
    frames = store.labelled_frames(level_of_theory=LOT)
    init = pick_initial(frames, 5)
    cids = [store.get(h).info[keys.COMPOSITION_ID] for h in init]
    assert len(init) == 5 and sorted(cids) == ["a", "a", "a", "b", "b"]
    assert len(pick_initial(frames, None)) == 12 == len(pick_initial(frames, 99))


def test_generations_train_on_the_initial_set_and_earlier_selections(store):
    frames = store.labelled_frames(level_of_theory=LOT)
    initial = set(pick_initial(frames, 4))
    pool = Pool([frame("a", 100 + i) for i in range(3)], np.array([0.2, 0.3, 0.4]), ["a/T300K"] * 3,
                np.array([0, 10, 20]), {})
    sel = request_selection(store, LOT, pool, [(0, FROM_WINDOW), (2, FROM_WINDOW)], k=0)
    assert [s["md_step"] for s in sel] == [0, 20]
    assert labels_spent(store, LOT) == 2 and labels_spent(store, LOT, before=0) == 0 and labels_spent(store, LOT, before=1) == 2
    request_selection(store, LOT, pool, [(0, FROM_WINDOW), (2, FROM_WINDOW)], k=0)  # a rerun adds nothing
    assert labels_spent(store, LOT) == 2 and store.status_counts(LOT)["pending"] == 2
    for s in sel:  # label them
        store.record_done(s["hash"], LOT, labels(store.get(s["hash"])))
    gen0 = training_frames(store, LOT, initial, 0)
    gen1 = training_frames(store, LOT, initial, 1)
    assert len(gen0) == 4 and {a.info[keys.GENERATION] for a in gen0} == {0}
    assert len(gen1) == 6 and sorted(a.info[keys.GENERATION] for a in gen1) == [0, 0, 0, 0, 1, 1]
    learned = [a for a in gen1 if a.info[keys.CONFIG_TYPE] == keys.CT_ACTIVE_LEARNING]
    assert all(a.info["selected_because"] == FROM_WINDOW for a in learned)


def test_convergence_needs_stable_runs_and_few_uncertain_frames():
    ok = {"status": "completed", "n_frames": 100, "n_candidate": 3, "n_unphysical": 1}
    assert convergence([ok, ok]) == (True, pytest.approx(0.04))
    assert convergence([ok, {**ok, "status": "stopped"}])[0] is False
    assert convergence([])[1] == 1.0


def test_stage_order_and_skip(tmp_path):
    from ilforge.learn.stage import run_learn
    from ilforge.pipeline import STAGES
    from ilforge.project import Project

    names = [s.name for s in STAGES]
    assert names.index("label") < names.index("learn") < names.index("train")

    class NoLearning:
        learning = None

    res = run_learn(Project(tmp_path), NoLearning())
    assert res.skipped and res.summary()["skipped"] is True


def test_report_section(tmp_path):
    from ilforge.project import LEARNING, Project
    from ilforge.report.build import learning_section

    project = Project(tmp_path)
    assert learning_section(project) is None
    run = {"run": "a/T300K", "status": "stopped", "steps_done": 30, "steps_total": 100}
    gens = [{"generation": 0, "n_train": 10, "phase": "labelled", "test": {"forces_rmse_meV_A": 500.0}, "runs": [run],
             "selected": [{"run": "a/T300K", "reason": "failure"}, {"run": "a/T300K", "reason": "window"}]},
            {"generation": 1, "n_train": 12, "phase": "converged", "runs": [{**run, "status": "completed"}], "selected": []}]
    project.write_results(LEARNING, {"status": "converged", "n_initial": 10, "labels": 2, "level_of_theory": LOT,
                                     "generations": gens})
    sec = learning_section(project)
    text = repr(sec)
    assert sec.id == "learning" and "stopped at 30/100" in text and "stable" in text and "failure" in text


def test_spread_quantiles_describe_the_distribution():
    from ilforge.learn.loop import spread_quantiles

    q = spread_quantiles(np.arange(101) / 100.0)  # 0.00 ... 1.00 eV/Å
    assert q == pytest.approx({"p10": 0.1, "p50": 0.5, "p90": 0.9, "max": 1.0})
    assert spread_quantiles([]) is None and spread_quantiles([np.nan, 0.2])["p50"] == pytest.approx(0.2)
