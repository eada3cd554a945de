"""Frame selection of active learning: trust window, farthest-point sampling, budget, cut-back."""

import numpy as np
import pytest
from ase import Atoms

from ilforge.learn.selection import (
    ACCURATE, CANDIDATE, FROM_FAILURE, FROM_WINDOW, UNPHYSICAL, Pool, classify, cut_back, element_pairs,
    farthest_point_sampling, in_trust_window, pair_distance_descriptor, select_frames,
)
from ilforge.learn.settings import LearningSettings


def test_trust_window_edges():
    kinds = classify([0.0, 0.099, 0.1, 0.3, 0.499, 0.5, 2.0, np.nan], 0.1, 0.5)
    assert list(kinds) == [ACCURATE, ACCURATE, CANDIDATE, CANDIDATE, CANDIDATE, UNPHYSICAL, UNPHYSICAL, UNPHYSICAL]
    assert in_trust_window([0.05, 0.2, 0.7], 0.1, 0.5).tolist() == [False, True, False]


def test_farthest_point_sampling_picks_the_farthest():
    X = np.array([[0.0], [1.0], [10.0], [3.0], [6.0]])
    assert farthest_point_sampling(X, 3, start=0) == [0, 2, 4]  # 10 is farthest from 0; then 6 (4 from 10)
    assert farthest_point_sampling(X, 5, start=0)[:4] == [0, 2, 4, 3]
    # already chosen rows steer the first pick: farthest from 10 is 0
    assert farthest_point_sampling(X, 1, start=3, chosen=np.array([[10.0]])) == [0]
    assert farthest_point_sampling(X, 0) == [] and len(farthest_point_sampling(X, 99)) == 5


def test_cut_back_takes_the_frames_before_the_failure():
    steps = np.arange(0, 200, 10)  # saved every 10 steps, stopped at 155
    assert cut_back(steps, 155, 20, 2) == [12, 13]  # steps 120 and 130 <= 135
    assert cut_back(steps, 155, 0, 1) == [15]
    assert cut_back(steps, 155, 20, 0) == []
    # a run that failed within cut_back_steps of its start: the earliest frames before the stop
    assert cut_back(steps, 5, 20, 2) == [0] and cut_back(steps, 25, 20, 2) == [0, 1]
    assert cut_back(steps[1:], 25, 20, 2) == [0, 1]  # steps 10, 20 (the start excluded, as the pool does)


def test_a_run_failing_at_once_still_gives_failure_frames():
    spreads = [0.9, 0.9, 0.9]  # all above the window: only the failure rule can pick them
    pool = _pool(spreads, steps=[0, 10, 20], stopped={"a/T300K": 25})
    pool.broken = np.array([True, False, False])  # the start is already in the store
    assert select_frames(pool, 4, 0.1, 0.5, cut_back_steps=20, per_failure=2) == [(1, FROM_FAILURE), (2, FROM_FAILURE)]


def _dimer(r: float) -> Atoms:
    return Atoms("LiF", positions=[[0, 0, 0], [r, 0, 0]], cell=[12, 12, 12], pbc=True)


def test_descriptor_is_a_pair_distance_histogram():
    pairs = element_pairs(["Li", "F"])
    assert pairs == [("F", "F"), ("F", "Li"), ("Li", "Li")]
    d = pair_distance_descriptor(_dimer(1.6), pairs, cutoff_A=5.0, bins=10)
    assert d.shape == (30,) and d.sum() == pytest.approx(0.5)  # one pair over two atoms
    assert d[10 + 3] == pytest.approx(0.5)  # F-Li block, bin [1.5, 2.0)
    far = pair_distance_descriptor(_dimer(3.2), pairs, cutoff_A=5.0, bins=10)
    assert far[10 + 6] == pytest.approx(0.5) and far[10 + 3] == 0


def _pool(spreads, runs=None, steps=None, stopped=None):
    frames = [_dimer(1.0 + 0.1 * i) for i in range(len(spreads))]
    return Pool(frames, np.array(spreads, float), runs or ["a/T300K"] * len(spreads),
                np.array(steps if steps is not None else np.arange(len(spreads)) * 10), stopped or {})


def test_select_window_budget_and_failures_first():
    spreads = [0.05, 0.2, 0.3, 0.25, 0.9, 0.15, 0.4]
    picks = select_frames(_pool(spreads), 3, 0.1, 0.5, cutoff_A=5.0)
    assert len(picks) == 3 and all(why == FROM_WINDOW for _, why in picks)
    idx = [i for i, _ in picks]
    assert idx[0] == 6  # the largest spread in the window (0.4) first; 0.9 is above it
    assert not {0, 4} & set(idx)  # accurate and unphysical frames are never picked
    # a stopped run: its cut-back frames come first, whatever their spread
    runs = ["a/T300K"] * 4 + ["b/T300K"] * 3
    steps = [0, 10, 20, 30, 0, 10, 20]
    picks = select_frames(_pool(spreads, runs, steps, {"b/T300K": 25}), 3, 0.1, 0.5, cut_back_steps=10, per_failure=2)
    assert picks[:2] == [(4, FROM_FAILURE), (5, FROM_FAILURE)] and picks[2][1] == FROM_WINDOW
    assert select_frames(_pool(spreads), 0, 0.1, 0.5) == []
    assert len(select_frames(_pool(spreads), 50, 0.1, 0.5)) == 5  # only the window's five


def test_settings_refuse_an_empty_window():
    with pytest.raises(ValueError, match="trust_high_eV_A"):
        LearningSettings(trust_low_eV_A=0.5, trust_high_eV_A=0.2)
    assert LearningSettings().committee_size == 3


def test_broken_frames_are_never_selected():
    spreads = [0.2, 0.3, 0.4, 0.25]
    pool = _pool(spreads, steps=[0, 10, 20, 30], stopped={"a/T300K": 35})
    pool.broken = np.array([False, True, True, False])
    picks = select_frames(pool, 4, 0.1, 0.5, cut_back_steps=0, per_failure=2)
    assert picks[:2] == [(0, FROM_FAILURE), (3, FROM_FAILURE)]  # 10 and 20 are broken: skipped
    assert {i for i, _ in picks} == {0, 3}
