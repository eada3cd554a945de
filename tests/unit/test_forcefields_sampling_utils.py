"""Perturbations (rattle, volume scan) and molecule unwrapping."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.sample.md import make_molecules_whole
from ilforge.reference import strategies


def _two_dimers() -> Atoms:
    at = Atoms("H2F2", positions=[[0, 0, 0], [0.74, 0, 0], [5, 5, 5], [5, 5, 6.4]], cell=[10, 10, 10], pbc=True)
    at.arrays[keys.MOL_ID] = np.array([0, 0, 1, 1])
    at.arrays[keys.MOL_SPECIES] = np.array(["H2", "H2", "F2", "F2"])
    return at


def test_volume_scan_scales_volume_and_keeps_molecules_rigid():
    at = _two_dimers()
    (out,) = strategies.volume_scan(at, [4.0])
    assert out.get_volume() == pytest.approx(1.04 * at.get_volume())
    assert out.get_distance(0, 1) == pytest.approx(0.74) and out.get_distance(2, 3) == pytest.approx(1.4)
    com_in = at[2:].get_center_of_mass()
    com_out = out[2:].get_center_of_mass()
    assert np.allclose(com_out, com_in * 1.04 ** (1 / 3))
    assert out.info[keys.CONFIG_TYPE] == keys.CT_VOLUME_SCAN


def test_rattle_is_seeded_and_has_the_requested_spread():
    at = Atoms("H" * 2000, positions=np.zeros((2000, 3)), cell=[10, 10, 10], pbc=True)
    (a,), (b,), (c,) = (strategies.rattle(at, 1, 0.05, seed) for seed in (1, 1, 2))
    assert np.array_equal(a.positions, b.positions) and not np.array_equal(a.positions, c.positions)
    assert np.std(a.positions) == pytest.approx(0.05, rel=0.05)
    assert a.info[keys.CONFIG_TYPE] == keys.CT_RATTLE


def test_make_molecules_whole_unwraps_across_the_boundary():
    at = _two_dimers()
    at.positions[1] = [9.6, 0, 0]  # H2 split across x = 0 (0.4 Å apart through the boundary)
    at.positions[3] += [0, 0, 10.0]  # F2 atom one cell away
    out = make_molecules_whole(at)
    assert np.linalg.norm(out.positions[0] - out.positions[1]) == pytest.approx(0.4)
    assert np.linalg.norm(out.positions[2] - out.positions[3]) == pytest.approx(1.4)
    frac = out.get_scaled_positions(wrap=False)
    for m in (0, 1):
        c = frac[out.arrays[keys.MOL_ID] == m].mean(axis=0)
        assert np.all(c >= 0) and np.all(c < 1)
