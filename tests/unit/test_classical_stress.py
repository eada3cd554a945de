"""The classical labeler's stress is -dE/dε of a smooth energy at a small cutoff (LJ switched, issue 12).

A plain LJ cut makes the energy jump by u(r_c) whenever a pair crosses the cutoff: a finite-difference
stress then depends on its step. With the switch (forcefield.lj_switch_width_A > 0) it must not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openmm")

from ase.io import read  # noqa: E402

from ilforge import units  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.errors import IlforgeError  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.reference.classical import ClassicalLabeler  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "emim_bf4_4ip.extxyz"
CUTOFF_A = 4.5  # the demo's effective cutoff on this 10.09 Å box
_VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


@pytest.fixture(scope="module")
def box_and_templates():
    from ilforge.forcefields.shipped import clandp_dir

    lib = load_library()
    t = {s: clandp_template(lib.get(s), clandp_dir()) for s in ("EMIM", "BF4")}
    return read(DATA, 0), t


def _fd_stress(lab: ClassicalLabeler, atoms, step: float) -> np.ndarray:
    """Voigt σ_ab = (1/V) ∂E/∂ε_ab by central differences, strain applied by ASE (scale_atoms), not the labeler."""
    out, vol = np.zeros(6), atoms.get_volume()
    for v, (a, b) in enumerate(_VOIGT):
        e = []
        for s in (step, -step):
            eps = np.zeros((3, 3))
            eps[a, b] += s
            if a != b:
                eps[b, a] += s
            st = atoms.copy()
            st.set_cell(atoms.cell[:] @ (np.eye(3) + eps).T, scale_atoms=True)
            e.append(lab.label(st).energy)
        out[v] = (e[0] - e[1]) / (2 * step) / (vol if a == b else 2 * vol)
    return out


def _pressure_gpa(stress) -> float:
    return float(-np.mean(stress[:3]) / units.GPA)


def test_stress_is_the_strain_derivative_at_every_step(box_and_templates):
    atoms, t = box_and_templates
    kw = dict(charge_scale=0.8, cutoff_A=CUTOFF_A)
    stress = ClassicalLabeler(t, "CL&P", **kw).label(atoms).stress
    energy_only = ClassicalLabeler(t, "CL&P", compute_stress=False, **kw)
    tol = 2e-3 * units.GPA  # eV/Å³
    for step in (1e-5, 1e-4, 1e-3):
        assert np.allclose(stress, _fd_stress(energy_only, atoms, step), rtol=0, atol=tol), step
    pressures = [_pressure_gpa(ClassicalLabeler(t, "CL&P", strain_step=h, **kw).label(atoms).stress)
                 for h in (1e-5, 1e-4, 1e-3)]
    assert max(pressures) - min(pressures) < 2e-3
    assert abs(pressures[0]) > 0.1  # a packed box under real stress, so the comparison means something


def test_plain_cut_is_not_smooth_and_the_labeler_refuses_its_stress(box_and_templates):
    """Without the switch the difference quotient depends on the step (what the switch fixes)."""
    atoms, t = box_and_templates
    cut = ClassicalLabeler(t, "CL&P", charge_scale=0.8, cutoff_A=CUTOFF_A, lj_switch_width_A=0.0, compute_stress=False)
    p = [_pressure_gpa(_fd_stress(cut, atoms, h)) for h in (1e-4, 1e-3)]
    assert abs(p[0] - p[1]) > 0.02
    with pytest.raises(IlforgeError, match="lj_switch_width_A"):
        ClassicalLabeler(t, "CL&P", cutoff_A=CUTOFF_A, lj_switch_width_A=0.0)
