"""The first-peak detector of g(r): no peak on an ideal gas (however noisy its low-r bins), the
known first peak on a synthetic g(r) and on a lattice."""

from __future__ import annotations

import numpy as np
import pytest

from ilforge.analysis.rdf import RDF, first_minimum_index, first_peak_index
from ilforge.md.trajectory import Trajectory


def _gas(seed, F=20, N=300, L=15.0):
    rng = np.random.default_rng(seed)
    return Trajectory(positions=rng.random((F, N, 3)) * L, cells=np.eye(3) * L, time_ps=np.arange(F),
                      numbers=np.r_[np.full(N // 2, 18), np.full(N - N // 2, 10)], masses=np.ones(N))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("pair", [("Ar", "Ar"), ("Ar", "Ne")])
def test_ideal_gas_has_no_first_peak(seed, pair):
    res = RDF(_gas(seed), *pair, rmax_A=7.4, nbins=200).run().results
    assert np.max(res["g"]) > 1.1  # noise bins exceed 1: a naive "first maximum above 1" finds a peak
    assert res["first_peak_r_A"] is None and res["first_peak_g"] is None
    assert "first_min_r_A" not in res and "cn_first_min" not in res


def _synthetic(r, r_peak=3.0):
    """A liquid-like g(r): zero below 2.4 Å, a first peak of height 2.5 at ``r_peak``, damped oscillation."""
    g = 1.0 + 1.5 * np.exp(-((r - r_peak) / 0.25) ** 2) - 0.4 * np.exp(-((r - r_peak - 0.9) / 0.35) ** 2)
    g[r < 2.4] = 0.0
    return g


def test_synthetic_first_peak_found_despite_noisy_low_r_bins():
    edges = np.linspace(0.0, 8.0, 201)
    r = 0.5 * (edges[1:] + edges[:-1])
    n_ideal = 5.0 * 4 / 3 * np.pi * np.diff(edges**3)  # ideal-gas pair counts per bin
    g = _synthetic(r)
    counts = np.round(g * n_ideal)
    counts[[3, 7, 8]] = 1  # stray pairs at 0.1-0.3 Å: g there is in the tens
    g_obs = counts / n_ideal
    assert g_obs[3] > 10 and np.argmax(g_obs) < 10  # the old report: "peak" at the global maximum, 0.15 Å
    i = first_peak_index(g_obs, n_ideal)
    assert r[i] == pytest.approx(3.0, abs=0.05)
    # the first minimum follows the peak (near r_peak + 0.9 Å)
    assert r[first_minimum_index(g_obs, i_peak=i)] == pytest.approx(3.85, abs=0.2)


def test_synthetic_peak_position_moves_with_the_peak():
    edges = np.linspace(0.0, 8.0, 201)
    r = 0.5 * (edges[1:] + edges[:-1])
    n_ideal = 50.0 * 4 / 3 * np.pi * np.diff(edges**3)
    for r0 in (2.8, 3.3, 4.1):
        assert r[first_peak_index(_synthetic(r, r0), n_ideal)] == pytest.approx(r0, abs=0.05)


def test_flat_g_has_no_peak_and_bare_g_works():
    g = np.ones(100)
    g[:5] = 0.0
    assert first_peak_index(g) is None and first_minimum_index(g) is None
    r = np.linspace(0.02, 8, 200)
    assert r[first_peak_index(_synthetic(r))] == pytest.approx(3.0, abs=0.05)


def test_fcc_lattice_first_peak_at_nearest_neighbour_distance():
    a, n = 4.0, 4
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    sites = np.array([b + [i, j, k] for i in range(n) for j in range(n) for k in range(n) for b in base]) * a
    rng = np.random.default_rng(4)
    pos = sites + rng.normal(0, 0.05, (5,) + sites.shape)
    traj = Trajectory(positions=pos, cells=np.eye(3) * a * n, time_ps=np.arange(5), numbers=np.full(len(sites), 18),
                      masses=np.ones(len(sites)))
    res = RDF(traj, "Ar", "Ar", rmax_A=7.9, nbins=160).run().results
    assert res["first_peak_r_A"] == pytest.approx(a / np.sqrt(2), abs=0.06)
    assert res["cn_first_min"] == pytest.approx(12.0, abs=0.01)
