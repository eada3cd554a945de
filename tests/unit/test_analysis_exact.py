"""Analyses on synthetic data with exact answers: random walks, ideal gas, lattices, EOS fits, conductivity."""

from __future__ import annotations

import numpy as np
import pytest

from ilforge.analysis.conductivity import Conductivity, nernst_einstein_S_m
from ilforge.analysis.density import Density, kappa_T_fluctuation_GPa
from ilforge.analysis.diffusion import SelfDiffusion, yeh_hummer_correction_m2_s
from ilforge.analysis.eos import linear_density_fit, tait_density, tait_fit, tait_kappa_T_GPa
from ilforge.analysis.form_factors import WAASMAIER_KIRFEL, form_factor
from ilforge.analysis.msd import msd_direct, msd_fft, msd_fft_mean
from ilforge.analysis.rdf import RDF
from ilforge.md.trajectory import Trajectory


def random_walk(n_frames, n_particles, D_A2_ps, dt_ps, seed):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, np.sqrt(2 * D_A2_ps * dt_ps), size=(n_frames, n_particles, 3))
    steps[0] = rng.random((n_particles, 3)) * 30.0
    return np.cumsum(steps, axis=0)


def walk_trajectory(pos, dt_ps, species, numbers, L=30.0, T=300.0):
    F, N, _ = pos.shape
    return Trajectory(positions=pos, cells=np.eye(3) * L, time_ps=np.arange(F) * dt_ps, numbers=numbers,
                      masses=np.ones(N), mol_id=np.arange(N), mol_species=np.asarray(species),
                      metadata={"temperature_K": T})


def test_msd_fft_equals_direct():
    x = random_walk(300, 7, 0.3, 0.1, seed=1)
    np.testing.assert_allclose(msd_fft(x), msd_direct(x), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(msd_fft_mean(x), msd_direct(x).mean(axis=1), rtol=1e-9, atol=1e-9)


def test_random_walk_diffusion_within_5_percent():
    D = 0.25  # Å²/ps
    pos = random_walk(2000, 500, D, 0.1, seed=2)
    traj = walk_trajectory(pos, 0.1, ["A"] * 500, np.full(500, 3))
    res = SelfDiffusion(traj, n_blocks=5).run().results
    D_est = res["D_m2_s"]["A"] / 1e-8  # Å²/ps = 1e-8 m²/s
    assert res["diffusive"]["A"]
    assert abs(D_est - D) / D < 0.05
    assert 0 < res["D_err_m2_s"]["A"] < 0.05 * D * 1e-8


def test_yeh_hummer_value():
    # ξ kT/(6πηL): 300 K, 0.01 Pa s, 30 Å -> 2.837297*1.380649e-23*300/(6π*0.01*3e-9)
    expected = 2.837297 * 1.380649e-23 * 300 / (6 * np.pi * 0.01 * 30e-10)
    assert yeh_hummer_correction_m2_s(300, 0.01, 30) == pytest.approx(expected, rel=1e-6)


def test_ideal_gas_rdf_is_one():
    rng = np.random.default_rng(3)
    F, N, L = 100, 400, 20.0
    pos = rng.random((F, N, 3)) * L
    traj = Trajectory(positions=pos, cells=np.eye(3) * L, time_ps=np.arange(F), numbers=np.r_[np.full(200, 3), np.full(200, 9)], masses=np.ones(N))
    for a, b in (("Li", "Li"), ("Li", "F")):
        res = RDF(traj, a, b, rmax_A=9.5, nbins=19).run().results
        g = res["g"][2:]  # skip the smallest shells (few counts)
        assert abs(g.mean() - 1.0) < 0.01
        assert np.all(np.abs(g - 1.0) < 0.06)


def _lattice(kind, a, n, noise, frames, seed):
    base = {"sc": [[0, 0, 0]], "fcc": [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]}[kind]
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    pts = (cells[:, None, :] + np.array(base)[None]).reshape(-1, 3) * a
    rng = np.random.default_rng(seed)
    pos = pts[None] + rng.normal(0, noise, size=(frames, len(pts), 3))
    return Trajectory(positions=pos, cells=np.eye(3) * a * n, time_ps=np.arange(frames), numbers=np.full(len(pts), 3), masses=np.ones(len(pts)))


@pytest.mark.parametrize("kind,cn1,cn12", [("sc", 6, 18), ("fcc", 12, 18)])
def test_lattice_coordination_numbers(kind, cn1, cn12):
    a = 3.0 if kind == "sc" else 4.0
    traj = _lattice(kind, a, 6, 0.05, 5, seed=4)
    second = a * np.sqrt(2) if kind == "sc" else a
    res = RDF(traj, "Li", "Li", rmax_A=8.0, nbins=320, cutoff_A=second + 0.3).run().results
    assert res["cn_first_min"] == pytest.approx(cn1, abs=1e-9)
    assert res["cn_cutoff"] == pytest.approx(cn12, abs=1e-9)
    nn = a if kind == "sc" else a / np.sqrt(2)
    assert nn < res["first_min_r_A"] < second


def test_linear_density_fit_recovers_parameters():
    T = np.array([280.0, 300, 320, 340, 360])
    rho = 1.280 - 0.7555e-3 * (T - 298.15)
    fit = linear_density_fit(T, rho, errors=np.full(5, 1e-4))
    assert fit["drho_dT"] == pytest.approx(-0.7555e-3, rel=1e-9)
    assert fit["rho_at_Tref"] == pytest.approx(1.280, rel=1e-12)
    assert fit["alpha_K-1"] == pytest.approx(0.7555e-3 / 1.280, rel=1e-9)


@pytest.mark.parametrize("n_points", [8, 3])
def test_tait_fit_recovers_parameters(n_points):
    rho0, B, C = 1285.5, 292.7, 0.1004 if n_points >= 4 else 0.0894
    P = np.linspace(0.1, 60.0, n_points)
    fit = tait_fit(P, tait_density(P, rho0, B, C))
    assert fit["rho0"] == pytest.approx(rho0, rel=1e-6)
    assert fit["B_MPa"] == pytest.approx(B, rel=1e-4)
    assert fit["C"] == pytest.approx(C, rel=1e-4)
    assert fit["kappa_T_GPa-1"] == pytest.approx(C / (B + 0.1) * 1e3, rel=1e-4)
    if n_points >= 4:  # the experimental EMIM BF4 value in il_reference_data.yaml
        assert fit["kappa_T_GPa-1"] == pytest.approx(0.343, abs=5e-4)
    # κ_T(P) from the derivative: (1/ρ) dρ/dP numerically
    p, h = 30.0, 1e-3
    num = (np.log(tait_density(p + h, rho0, B, C)) - np.log(tait_density(p - h, rho0, B, C))) / (2 * h) * 1e3
    assert tait_kappa_T_GPa(p, B, C) == pytest.approx(num, rel=1e-6)


def test_density_and_volume_fluctuation_kappa():
    rng = np.random.default_rng(5)
    F, N = 5000, 10
    T, V0, kappa_GPa = 300.0, 1.0e4, 0.5
    from ilforge.units import GPA, KB_EV_K

    var = kappa_GPa / GPA * KB_EV_K * T * V0  # Å⁶
    L = (V0 + rng.normal(0, np.sqrt(var), F)) ** (1 / 3)
    traj = Trajectory(positions=np.zeros((F, N, 3)), cells=np.array([np.eye(3) * l for l in L]), time_ps=np.arange(F),
                      numbers=np.full(N, 6), masses=np.full(N, 12.0), metadata={"temperature_K": T})
    res = Density(traj, fluctuations=True).run().results
    assert res["density_mean_g_cm3"] == pytest.approx(120.0 / V0 * 1.66053906, rel=1e-3)
    assert res["kappa_T_fluct_GPa-1"] == pytest.approx(kappa_GPa, rel=0.05)
    assert kappa_T_fluctuation_GPa([V0, V0], T) == 0.0


def test_conductivity_of_uncorrelated_ions_equals_nernst_einstein():
    n, F, dt = 100, 10000, 0.1
    pos = np.concatenate([random_walk(F, n, 0.3, dt, seed=6), random_walk(F, n, 0.1, dt, seed=7)], axis=1)
    traj = walk_trajectory(pos, dt, ["Li"] * n + ["Cl"] * n, np.r_[np.full(n, 3), np.full(n, 17)])
    res = Conductivity(traj, charges={"Li": 1, "Cl": -1}, fit_window_ps=(dt, 20 * dt)).run().results
    # Nernst-Einstein with the exact D values
    exact = nernst_einstein_S_m({"Li": 0.3e-8, "Cl": 0.1e-8}, {"Li": n, "Cl": n}, {"Li": 1, "Cl": -1}, 30.0**3, 300.0)
    assert res["sigma_NE_S_m"] == pytest.approx(exact, rel=0.03)
    assert res["ratio_EH_NE"] == pytest.approx(1.0, abs=0.1)
    assert res["diffusive"] is True  # a given fit window is taken as diffusive


def test_conductivity_of_caged_ions_is_flagged_not_diffusive():
    """Ions rattling in cages (bounded MSD, < 1 Å²) have no diffusive regime: σ is reported but flagged,
    and the comparison with experiment carries the caveat."""
    from ilforge.experiment.compare import NOT_DIFFUSIVE, predictions_from_analysis

    n, F, dt = 50, 400, 0.01
    rng = np.random.default_rng(9)
    centres = rng.random((1, 2 * n, 3)) * 30.0
    pos = centres + rng.normal(0.0, 0.2, (F, 2 * n, 3))  # vibrations about fixed sites
    traj = walk_trajectory(pos, dt, ["Li"] * n + ["Cl"] * n, np.r_[np.full(n, 3), np.full(n, 17)])
    res = Conductivity(traj, charges={"Li": 1, "Cl": -1}).run().results
    assert res["diffusive"] is False
    preds = predictions_from_analysis({"runs": [{"temperature_K": 300.0, "conductivity": res}]})
    assert [p["note"] for p in preds] == [NOT_DIFFUSIVE, NOT_DIFFUSIVE]


def test_form_factors_at_zero_equal_atomic_number():
    from ase.data import atomic_numbers

    for el in WAASMAIER_KIRFEL:
        assert form_factor(el, 0.0) == pytest.approx(atomic_numbers[el], abs=0.01)  # WK fits reproduce Z to ~3e-3
    assert form_factor("O", 10.0) < form_factor("O", 1.0) < 8


@pytest.mark.parametrize("cell", [np.diag([9.0, 10.0, 11.0]), np.array([[10.0, 0, 0], [2.0, 10.0, 0], [1.0, 1.5, 10.0]])])
@pytest.mark.parametrize("same,r0", [(False, 0.0), (True, 0.0), (False, 1.0), (True, 1.5)])
def test_pair_histogram_matches_brute_force(cell, same, r0):
    from ase.geometry import get_distances

    from ilforge.analysis.geometry import pair_histogram

    rng = np.random.default_rng(8)
    xa = rng.random((40, 3)) @ cell + rng.normal(0, 20, (40, 3))  # unwrapped far outside the box
    xb = xa if same else rng.random((30, 3)) @ cell
    edges = np.linspace(r0, 4.4, 30)
    _, d = get_distances(xa, xb, cell=cell, pbc=True)
    if same:
        d = d[np.triu_indices(len(xa), 1)]
    expected = np.histogram(d.ravel(), bins=edges)[0]
    np.testing.assert_array_equal(pair_histogram(xa, xb, cell, edges, same=same), expected)


def test_caging_crossover_of_a_short_run_is_not_diffusive():
    """A short run's MSD goes ballistic (t²) to a cage plateau below 1 Å²: its log-log slope passes
    through 1, but molecules have not diffused, so no diffusive window may be reported."""
    from ilforge.analysis.msd import diffusive_window

    t = np.linspace(0.005, 2.0, 400)  # ps
    cage = 0.4 * (t / 0.1) ** 2 / (1 + (t / 0.1) ** 2)  # Å², plateau 0.4 Å²
    assert diffusive_window(t, cage)[2] is False
    walk = 6 * 0.5 * t  # a random walk, D = 0.5 Å²/ps: reaches 1 Å² early
    assert diffusive_window(t, walk)[2] is True
