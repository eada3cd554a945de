"""The pre-flight check's molecular virial pressure and implied density error, against exact answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.geometry import find_mic

from ilforge import keys, units
from ilforge.reference.check import TAIT_C, implied_density_error, molecular_virial_pressure

BOND_A = 1.0


def _diatomics(n: int = 6, cell: float = 9.0, seed: int = 4) -> Atoms:
    """``n`` rigid heteronuclear diatomics (C-O, 1 Å) in a triclinic cell, no two centres closer than 3 Å."""
    rng = np.random.default_rng(seed)
    h = np.array([[cell, 0, 0], [0.7, cell, 0], [-0.4, 0.5, cell]])
    centres: list[np.ndarray] = []
    while len(centres) < n:
        c = rng.uniform(0, 1, 3) @ h
        if all(np.linalg.norm(find_mic(c - p, h, pbc=True)[0]) > 3.0 for p in centres):
            centres.append(c)
    pos = []
    for c in centres:
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        pos += [c - 0.4 * BOND_A * u, c + 0.6 * BOND_A * u]  # centre of mass not at the midpoint's
    at = Atoms("CO" * n, positions=pos, cell=h, pbc=True)
    at.arrays[keys.MOL_ID] = np.repeat(np.arange(n), 2)
    at.arrays[keys.MOL_SPECIES] = np.array(["CO"] * (2 * n))
    return at


def _calc():
    return LennardJones(sigma=1.6, epsilon=0.02, rc=4.0, smooth=True)


def _energy(at: Atoms) -> float:
    at = at.copy()
    at.calc = _calc()
    return at.get_potential_energy()


def _scaled_rigidly(at: Atoms, factor: float) -> Atoms:
    """Cell scaled by ``factor`` (lengths); each molecule translated with its centre of mass, shape kept."""
    out = at.copy()
    out.set_cell(at.cell[:] * factor, scale_atoms=False)
    m = at.get_masses()
    for k in np.unique(at.arrays[keys.MOL_ID]):
        idx = np.flatnonzero(at.arrays[keys.MOL_ID] == k)
        com = m[idx] @ at.positions[idx] / m[idx].sum()
        out.positions[idx] = at.positions[idx] + (factor - 1.0) * com
    return out


def test_molecular_virial_is_minus_dE_dV_with_rigid_molecules():
    at = _diatomics()
    calc_at = at.copy()
    calc_at.calc = _calc()
    forces, stress = calc_at.get_forces(), calc_at.get_stress(voigt=True)
    p_mol = molecular_virial_pressure(at, forces, stress, temperature_K=0.0)
    v0, h = at.get_volume(), 1e-5
    e_plus, e_minus = _energy(_scaled_rigidly(at, 1 + h)), _energy(_scaled_rigidly(at, 1 - h))
    dv = v0 * ((1 + h) ** 3 - (1 - h) ** 3)
    p_fd = -(e_plus - e_minus) / dv
    assert p_mol == pytest.approx(p_fd, rel=1e-5, abs=1e-9)
    p_atomic = -stress[:3].sum() / 3
    assert abs(p_atomic - p_fd) > 100 * abs(p_mol - p_fd)  # the intramolecular term matters here


def test_molecular_kinetic_term_counts_molecules():
    at = _diatomics()
    zero = np.zeros((len(at), 3))
    p = molecular_virial_pressure(at, zero, np.zeros(6), temperature_K=300.0)
    assert p == pytest.approx(6 * units.KB_EV_K * 300.0 / at.get_volume())


def test_implied_density_error_through_tait():
    err, model = implied_density_error(-1.24, 0.343)  # GFN1-xTB on EMIM-BF4 (issue 15): about +19 %
    b = TAIT_C / 0.343
    assert err == pytest.approx(1.0 / (1.0 - TAIT_C * math.log(1.0 + 1.24 / b)) - 1.0)
    assert 0.18 < err < 0.20 and "Tait" in model
    err2, _ = implied_density_error(-0.10, 0.343)
    assert 0.02 < err2 < 0.04
    assert implied_density_error(0.0, 0.343)[0] == pytest.approx(0.0)
    assert implied_density_error(0.1, 0.343)[0] < 0  # pushed apart: less dense


def test_implied_density_error_linear_fallbacks():
    err, model = implied_density_error(0.4, 0.343)  # beyond Tait's range (p_ref >= B = 0.26 GPa)
    assert err == pytest.approx(1.0 / (1.0 + 0.343 * 0.4) - 1.0) and "linear" in model
    err, model = implied_density_error(-0.2, None)
    assert err == pytest.approx(1.0 / (1.0 - 0.45 * 0.2) - 1.0) and "typical" in model


class _CountingIdealGas:
    """A labeler with no interactions (E = 0, F = 0, σ = 0) that counts its calls."""

    level_of_theory = "ideal-gas"

    def __init__(self):
        self.calls = 0

    def label(self, atoms):
        from ilforge.labels import Labels

        self.calls += 1
        return Labels(0.0, np.zeros((len(atoms), 3)), np.zeros(6))


def test_own_md_measures_the_second_half_of_the_methods_own_run():
    """own_md_steps: 10 steps at the method's own level per snapshot (10 labels), pressures from the
    5 frames after step 5; with no interactions P_mol is the molecular kinetic term N_mol k T / V
    exactly, and the molecules, moved by the MD, stay whole."""
    from ilforge.reference.check import _own_structures, _pressures

    at = _diatomics()
    lab = _CountingIdealGas()
    run = _own_structures(lab, at, 300.0, 10, seed=1)
    assert lab.calls == 10 + 1 and len(run) == 5  # one force call before the first step
    from ilforge.reference.check import OWN_MD_FRICTION_PER_PS, OWN_MD_TIMESTEP_FS
    from ilforge.reference.strategies import reference_md

    full = reference_md(at, _CountingIdealGas(), 10, 1, OWN_MD_TIMESTEP_FS, 300.0, OWN_MD_FRICTION_PER_PS, 1)
    assert [np.allclose(a.positions, b.positions) for (a, _), (b, _) in zip(run, full[5:])] == [True] * 5
    assert not np.allclose(run[0][0].positions, at.positions)
    assert list(run[-1][0].arrays[keys.MOL_ID]) == list(at.arrays[keys.MOL_ID])
    p_mol, p_atomic, p_d3, _ = _pressures(lab, [at, at], 300.0, None, own_md_steps=10)
    ideal = 6 * units.KB_EV_K * 300.0 / at.get_volume() / units.GPA
    assert p_mol == pytest.approx([ideal, ideal], rel=1e-12) and p_d3 is None
    assert p_atomic == pytest.approx([2 * ideal, 2 * ideal], rel=1e-12)
