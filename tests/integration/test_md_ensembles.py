"""The thermostats and the barostat sample the requested state: LJ argon-like fluid, 125 atoms."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones

from ilforge.analysis.blocks import block_average
from ilforge.md.runner import StatePoint, run_state_point
from ilforge.md.settings import MDSettings
from ilforge.md.trajectory import read_h5md


def _fluid(seed=0):
    n, a = 5, 3.9
    grid = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float) * a
    rng = np.random.default_rng(seed)
    return Atoms(f"Ar{n**3}", positions=grid + rng.normal(0, 0.05, grid.shape), cell=np.eye(3) * a * n, pbc=True)


def _run(tmp_path, ensemble, thermostat, production_ps):
    s = MDSettings(ensemble=ensemble, thermostat=thermostat, timestep_fs=5.0, equilibration_ps=1.0, production_ps=production_ps,
                   save_every_steps=2, friction_per_ps=10.0, tdamp_fs=100.0, pdamp_fs=1000.0,
                   monitors={"bonds": False, "min_distances_A": {}})
    calc = LennardJones(sigma=3.4, epsilon=0.0104, rc=7.0, smooth=True)
    res = run_state_point(_fluid(), calc, s, tmp_path, StatePoint(100.0, 100.0))
    assert res.status == "completed", res.problem
    return read_h5md(tmp_path / "production.h5")


def test_langevin_temperature(tmp_path):
    tr = _run(tmp_path, "nvt", "langevin", 1.5)
    T, err = block_average(tr.observables["temperature"], 5)
    assert abs(T - 100.0) < max(4 * err, 3.0), (T, err)


@pytest.mark.slow
@pytest.mark.parametrize("ensemble,thermostat", [("nvt", "nose-hoover"), ("npt", "langevin")])
def test_nose_hoover_and_mtk_sample_T_and_P(tmp_path, ensemble, thermostat):
    tr = _run(tmp_path, ensemble, thermostat, 3.0)
    T, err = block_average(tr.observables["temperature"], 5)
    assert abs(T - 100.0) < max(4 * err, 3.0), (T, err)
    if ensemble == "npt":
        P, perr = block_average(tr.observables["pressure"], 5)
        assert abs(P - 100.0) < 4 * perr + 10.0, (P, perr)  # measured 102.5 ± 6.7 bar
        assert np.ptp(tr.volumes_A3) > 0
