"""The pressure the MD runner writes to H5MD, on the production path: P = −tr(σ)/3 + 2 E_kin/(3V).

The virial part −tr(σ)/3 must equal −∂E/∂V under isotropic strain: checked on every saved frame
against a central finite difference of the energy, with the calculators the MD tests use
(built from their task dicts, as state-point tasks build them). Flip the sign of either term in
:func:`ilforge.md.observers.instantaneous_pressure` and this fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ilforge.md.calculators import calculator_from_dict
from ilforge.md.observers import instantaneous_pressure
from ilforge.md.runner import StatePoint, run_state_point
from ilforge.md.settings import MDSettings
from ilforge.md.trajectory import read_h5md
from ilforge.units import BAR


def _lj_box():
    """64 LJ atoms (σ = 2.5 Å) on a simple cubic grid of 2.55 Å: compressed, strongly repulsive."""
    rng = np.random.default_rng(4)
    grid = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(4)], float) * 2.55
    return Atoms("Ar64", positions=grid + rng.normal(0, 0.03, grid.shape), cell=np.eye(3) * 10.2, pbc=True)


def _cu_box():
    """32 Cu atoms (EMT), fcc compressed by 2 % in lattice constant."""
    a = bulk("Cu", "fcc", a=3.61 * 0.98, cubic=True).repeat(2)
    a.rattle(0.02, seed=3)
    return a


def _minus_dE_dV(calc, positions, cell, numbers, h=1e-4) -> float:
    """Central difference of E under isotropic strain: −(E(V(1+h)) − E(V(1−h))) / (2hV), eV/Å³."""
    energies, volumes = [], []
    for sign in (1, -1):
        s = (1 + sign * h) ** (1 / 3)
        a = Atoms(numbers=numbers, positions=positions * s, cell=cell * s, pbc=True)
        a.calc = calc
        energies.append(a.get_potential_energy())
        volumes.append(a.get_volume())
    return -(energies[0] - energies[1]) / (volumes[0] - volumes[1])


@pytest.mark.parametrize("name,box", [("lj", _lj_box), ("emt", _cu_box)])
def test_written_pressure_virial_is_minus_dE_dV(tmp_path, name, box):
    atoms = box()
    calc_dict = {"kind": "named", "name": name}
    s = MDSettings(ensemble="nvt", timestep_fs=1.0, equilibration_ps=0.0, production_ps=0.02, save_every_steps=5,
                   monitors={"bonds": False, "min_distances_A": {}, "min_distance_any_A": 0.0, "temperature_factor": 100.0})
    res = run_state_point(atoms, calculator_from_dict(calc_dict), s, tmp_path, StatePoint(50.0))
    assert res.status == "completed", res.problem
    tr = read_h5md(tmp_path / "production.h5")
    assert tr.n_frames == 5
    P = tr.observables["pressure"] * BAR  # eV/Å³
    kinetic = 2.0 * tr.observables["kinetic_energy"] / (3.0 * tr.observables["volume"])
    calc = calculator_from_dict(calc_dict)
    virial_fd = np.array([_minus_dE_dV(calc, tr.positions[f], tr.cells[f], tr.numbers) for f in range(tr.n_frames)])
    # the virial part dominates (a sign error cannot hide in the tolerance), and matches −dE/dV
    assert np.all(np.abs(virial_fd) > 20 * np.abs(kinetic)) and np.all(kinetic > 0)
    np.testing.assert_allclose(P - kinetic, virial_fd, rtol=1e-5, atol=1e-8)


def test_instantaneous_pressure_formula():
    V, ekin = 1000.0, 1.5
    s = np.array([0.01, 0.02, 0.03, 0.5, 0.6, 0.7])
    assert instantaneous_pressure(s, ekin, V) == pytest.approx(-0.02 + 2 * ekin / (3 * V))
    full = np.array([[0.01, 0.7, 0.6], [0.7, 0.02, 0.5], [0.6, 0.5, 0.03]])
    assert instantaneous_pressure(full, ekin, V) == pytest.approx(instantaneous_pressure(s, ekin, V))
