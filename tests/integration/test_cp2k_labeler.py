"""CP2K labeler: forces against central finite differences of its own energy.

One water molecule in a 6 Å periodic box, PBE-D3(BJ), DZVP-MOLOPT-SR-GTH, GTH-PBE, a low 200 Ry
cutoff (the test checks consistency of forces with the energy, not converged physics).
Tolerance: 5e-3 eV/Å per component with a 0.005 Å step: GPW forces are derivatives of the same
discretised energy, so the difference is the O(h²) error of the central difference plus SCF noise
(EPS_SCF 1e-7 Ha); a wrong sign, unit or missing term (e.g. D3) is > 0.05 eV/Å.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase.build import molecule

from ilforge.labels import LabelError
from ilforge.reference.cp2k import CP2KLabeler

pytestmark = pytest.mark.skipif(shutil.which("cp2k_shell.psmp") is None, reason="CP2K not installed (make setup)")

STEP_A = 0.005
TOL_EV_A = 5e-3


@pytest.fixture(scope="module")
def labeler():
    lab = CP2KLabeler(cutoff_Ry=200, rel_cutoff_Ry=40, eps_scf=1e-7)
    yield lab
    lab.close()


def _water():
    a = molecule("H2O")
    a.positions[1] += [0.0, 0.05, 0.03]  # off equilibrium: forces well away from zero
    a.cell = [6.0, 6.0, 6.0]
    a.center()
    a.pbc = True
    return a


def test_forces_match_finite_differences(labeler):
    a = _water()
    lab = labeler.label(a)
    assert lab.forces.shape == (3, 3) and lab.stress.shape == (6,)
    for i, k in [(0, 2), (1, 1), (1, 2), (2, 0)]:
        e = []
        for sign in (+1, -1):
            b = a.copy()
            b.positions[i, k] += sign * STEP_A
            e.append(labeler.label(b).energy)
        fd = -(e[0] - e[1]) / (2 * STEP_A)
        assert lab.forces[i, k] == pytest.approx(fd, abs=TOL_EV_A), (i, k, lab.forces[i, k], fd)
    assert np.abs(lab.forces).max() > 0.5  # the check above is not trivially about zeros


def test_level_of_theory_names_settings(labeler):
    lot = labeler.level_of_theory
    assert lot.startswith("cp2k:PBE-D3(BJ);DZVP-MOLOPT-SR-GTH;GTH-PBE;cutoff=200Ry")
    assert CP2KLabeler().level_of_theory != lot


def test_scf_not_converged_is_a_label_error():
    lab = CP2KLabeler(cutoff_Ry=150, rel_cutoff_Ry=30, max_scf=2, outer_max_scf=1, eps_scf=1e-8)
    try:
        with pytest.raises(LabelError, match="NOT converged") as info:
            lab.label(_water())
        assert info.value.retryable is False
    finally:
        lab.close()
