"""Calibration of the diffusion error bars on synthetic random walks (benchmarks/diffusion_calibration.py).

Standard case: N = 100 walkers, F = 2000 frames, dt = 0.1 ps, D = 0.25 Å²/ps, 5 blocks. Over 30
seeds the reported 1σ must cover the true D 50-85 % of the time (68 % ideal), the median of
|D - D_true| / σ must be near 0.674 (0.45-1.0: halving σ gives ~1.3, doubling ~0.33), and the rms
relative error must be <= 4 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from ilforge.analysis import diffusion
from ilforge.analysis.diffusion import SelfDiffusion, block_error
from ilforge.md.trajectory import Trajectory

D_TRUE, DT, N, F = 0.25, 0.1, 100, 2000


def _walk(seed):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, np.sqrt(2 * D_TRUE * DT), size=(F, N, 3))
    steps[0] = rng.random((N, 3)) * 30.0
    return Trajectory(positions=np.cumsum(steps, axis=0), cells=np.eye(3) * 30.0, time_ps=np.arange(F) * DT,
                      numbers=np.full(N, 18), masses=np.ones(N), mol_id=np.arange(N), mol_species=np.full(N, "A"))


@pytest.fixture(scope="module")
def estimates():
    rel, sig = [], []
    for seed in range(200, 230):
        res = SelfDiffusion(_walk(seed), n_blocks=5).run().results
        rel.append(res["D_m2_s"]["A"] / 1e-8 / D_TRUE - 1.0)
        sig.append(res["D_err_m2_s"]["A"] / 1e-8 / D_TRUE)
        assert res["diffusive"]["A"]
        assert res["fit_window_ps"]["A"][1] <= 0.1 * F * DT + 1e-9  # half a block of 5
    return np.array(rel), np.array(sig)


def _calibrated(rel, sig):
    z = np.abs(rel) / sig
    return 0.5 <= np.mean(z <= 1) <= 0.85 and 0.45 <= np.median(z) <= 1.0


def test_error_bars_cover_the_true_value_about_68_percent(estimates):
    rel, sig = estimates
    assert np.all(np.isfinite(sig)) and np.all(sig > 0)
    assert _calibrated(rel, sig), (np.mean(np.abs(rel) <= sig), np.median(np.abs(rel) / sig))
    assert np.sqrt(np.mean(rel**2)) <= 0.04


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_halved_or_doubled_error_bars_are_not_calibrated(estimates, factor):
    rel, sig = estimates
    assert not _calibrated(rel, factor * sig)


def test_block_error_is_student_t_inflated():
    v = [1.0, 2.0, 3.0, 4.0, 5.0]
    sem = np.std(v, ddof=1) / np.sqrt(5)
    assert block_error(v, 5) == pytest.approx(1.1417 * sem, rel=1e-3)  # t_4(0.8413)
    assert np.isnan(block_error(v[:4], 5))  # a block that could not be fitted: no error


def test_window_too_long_for_the_blocks_gives_no_error(caplog):
    res = SelfDiffusion(_walk(1), fit_window_ps=(1.0, 60.0), n_blocks=5).run().results
    assert np.isnan(res["D_err_m2_s"]["A"])
    assert diffusion.block_fit_fraction(5) == pytest.approx(0.1)
