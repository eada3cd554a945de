"""S(q), ion environment, centre-of-mass RDF and the analysis driver's fits across state points."""

from __future__ import annotations

import numpy as np
import pytest

from ilforge.analysis.driver import analyze_runs
from ilforge.analysis.ion_environment import IonEnvironment
from ilforge.analysis.rdf import RDF
from ilforge.analysis.settings import AnalysisSettings
from ilforge.analysis.structure_factor import faber_ziman, partial_sq, r_factor, read_sq
from ilforge.md.trajectory import H5MDWriter, Trajectory


def test_partial_sq_of_a_step_function_matches_the_analytic_transform():
    dr, sigma, rho = 0.001, 2.5, 0.03
    r = np.arange(dr / 2, 12.0, dr)
    g = (r > sigma).astype(float)
    q = np.linspace(0.3, 10, 40)
    exact = 1 - 4 * np.pi * rho * (np.sin(q * sigma) - q * sigma * np.cos(q * sigma)) / q**3
    np.testing.assert_allclose(partial_sq(r, g, q, rho, 12.0, lorch=False), exact, atol=2e-4)


def test_faber_ziman_reduces_to_the_partial_when_all_partials_are_equal():
    r = np.linspace(0.05, 9.95, 100)
    g = 1 + np.exp(-((r - 3) ** 2)) * (r > 2)
    q = np.linspace(0.5, 8, 30)
    partials = {("C", "C"): g, ("C", "O"): g, ("O", "O"): g}
    s = faber_ziman(q, partials, {"C": 0.4, "O": 0.6}, r, 0.05, 10.0)
    np.testing.assert_allclose(s, partial_sq(r, g, q, 0.05, 10.0), rtol=1e-10)


def test_experimental_sq_file_and_r_factor(sq_file):
    q, s = read_sq(sq_file)
    assert np.all(np.diff(q) > 0) and 0.2 < q[0] < 0.21 and q[-1] > 11
    assert r_factor(s, s) == 0.0
    assert r_factor(s * 1.1, s) == pytest.approx(0.1)


def test_ion_environment_counts_pairs_clusters_and_contacts():
    L = 30.0
    li = [[5, 5, 5], [15, 5, 5], [5, 15, 5], [6.5, 15, 5]]
    cl = [[2.6, 5, 5], [7.4, 5, 5], [15, 7.4, 5], [25, 25, 25]]
    pos = np.array(li + cl, dtype=float)
    frames = np.stack([pos, pos])
    traj = Trajectory(positions=frames, cells=np.eye(3) * L, time_ps=[0.0, 1.0], numbers=[3] * 4 + [17] * 4, masses=np.ones(8),
                      mol_id=np.arange(8), mol_species=["Li"] * 4 + ["Cl"] * 4)
    r = IonEnvironment(traj, "Li", coordinating=["Cl"], cutoff_A=2.8, close_contact_A=2.0, n_blocks=2).run().results
    assert list(r["close_contacts"]) == [1, 1] and r["frames_with_close_contact"] == 2
    assert r["min_cation_cation_A"][0] == pytest.approx(1.5)
    assert r["free_fraction"] == pytest.approx(0.5) and r["contact_pair_fraction"] == pytest.approx(0.25)
    assert r["aggregate_fraction"] == pytest.approx(0.25)
    # ions in clusters: {Li0, Cl0, Cl1} size 3, {Li1, Cl2} size 2, Li2, Li3, Cl3 alone
    assert r["cluster_size_fraction"] == pytest.approx({1: 3 / 8, 2: 2 / 8, 3: 3 / 8})


def test_centre_of_mass_rdf_uses_molecule_centres():
    # diatomic molecules on a simple cubic lattice: COM-COM first shell has 6 neighbours
    a, n = 4.0, 5
    centres = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float) * a
    pos = np.concatenate([centres - [0.5, 0, 0], centres + [0.5, 0, 0]])
    mol = np.r_[np.arange(len(centres)), np.arange(len(centres))]
    traj = Trajectory(positions=np.stack([pos, pos]), cells=np.eye(3) * a * n, time_ps=[0, 1], numbers=[6] * len(pos), masses=np.ones(len(pos)),
                      mol_id=mol, mol_species=["X2"] * len(pos))
    res = RDF(traj, "X2", "X2", rmax_A=9.0, nbins=90, centres_of_mass=True, n_blocks=2).run().results
    assert res["cn_first_min"] == pytest.approx(6.0)


def _write_run(path, volume, T, P, n_frames=20):
    from ase import Atoms

    L = volume ** (1 / 3)
    atoms = Atoms("Ar10", positions=np.random.default_rng(0).random((10, 3)) * L, cell=np.eye(3) * L, pbc=True)
    with H5MDWriter(path, atoms, metadata={"temperature_K": T, "pressure_bar": P, "ensemble": "npt"}) as w:
        for i in range(n_frames):
            w.append(i, i * 0.01, atoms.positions, atoms.cell.array)


def test_driver_fits_density_vs_temperature_and_tait(tmp_path):
    from ilforge.analysis.eos import tait_density
    from ilforge.units import volume_A3_for_density

    mass = 10 * 39.948
    paths = []
    for T in (280.0, 300.0, 320.0):
        rho = 1.3 - 8e-4 * (T - 298.15)
        p = tmp_path / f"T{T}.h5"
        _write_run(p, volume_A3_for_density(mass, rho), T, 1.0)
        paths.append(p)
    for P_bar in (10.0, 500.0, 1000.0):
        rho = tait_density(P_bar / 10, 1.3 - 8e-4 * (300 - 298.15), 200.0, 0.0894)
        p = tmp_path / f"P{P_bar}.h5"
        _write_run(p, volume_A3_for_density(mass, rho), 300.0, P_bar)
        paths.append(p)
    doc = analyze_runs(paths, AnalysisSettings(properties=["density"], n_blocks=2))
    f = doc["eos"]["density_vs_T"]
    assert f["drho_dT"] == pytest.approx(-8e-4, rel=1e-6)
    assert f["alpha_K-1"] == pytest.approx(8e-4 / 1.3, rel=1e-6)
    tait = doc["eos"]["tait"]["300"]
    assert tait["B_MPa"] == pytest.approx(200.0, rel=1e-3) and tait["C"] == pytest.approx(0.0894, rel=1e-3)  # 4 pressures: C fitted
    assert tait["kappa_T_GPa-1"] == pytest.approx(0.0894 / 200.1 * 1e3, rel=1e-3)


def test_driver_sq_with_r_factor_against_experiment(sq_file, tmp_path):
    from ilforge.analysis.driver import analyze_trajectory

    rng = np.random.default_rng(1)
    F, N, L = 10, 60, 14.0
    traj = Trajectory(positions=rng.random((F, N, 3)) * L, cells=np.eye(3) * L, time_ps=np.arange(F) * 0.1,
                      numbers=[3] * 20 + [8] * 20 + [1] * 20, masses=np.ones(N))
    st = AnalysisSettings(properties=["sq"], n_blocks=2, sq_experiment=str(sq_file))
    out = analyze_trajectory(traj, st)["sq"]
    assert len(out["S_on_exp_grid"]) == len(out["q_exp_A"]) > 250
    # a random (ideal-gas) configuration has S(q) ~ 1; the measured liquid oscillates around 1 with a strong peak
    assert np.all(np.abs(np.asarray(out["S"])[np.asarray(out["q_A"]) > 2] - 1) < 0.3)
    assert 0.05 < out["R_factor"] < 1.0
