"""D3 dispersion added to any labeler (issue 15 item 5): numbers against dftd3's own ASE
calculator, forces and stress against finite differences, and refusal of double counting."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from ilforge.errors import RecipeError
from ilforge.labels import Labels
from ilforge.reference.base import Labeler
from ilforge.reference.dispersion import D3Labeler, d3_labels
from ilforge.reference.registry import make_labeler
from ilforge.reference.settings import LabelSettings

pytest.importorskip("dftd3")


class _Zero(Labeler):
    """A method with zero energy, forces and stress: what D3Labeler adds is all there is."""

    level_of_theory = "zero"
    method = "PBE"

    def label(self, atoms):
        return Labels(0.0, np.zeros((len(atoms), 3)), np.zeros(6) if atoms.pbc.all() else None)


def _periodic() -> Atoms:
    rng = np.random.default_rng(3)
    a = molecule("CH3CH2OH")
    b = molecule("H2O")
    b.translate([3.2, 0.3, 0.1])
    at = a + b
    at.positions += rng.normal(0, 0.05, at.positions.shape)
    at.cell = [[7.0, 0.0, 0.0], [0.6, 6.5, 0.0], [0.3, -0.4, 6.8]]
    at.pbc = True
    return at


@pytest.mark.parametrize("damping", ["d3bj", "d3zero"])
@pytest.mark.parametrize("periodic", [True, False])
def test_d3_matches_dftd3s_ase_calculator(damping, periodic):
    from dftd3.ase import DFTD3

    at = _periodic()
    if not periodic:
        at.pbc = False
    ours = D3Labeler(_Zero(), "PBE", damping).label(at)
    ref = at.copy()
    ref.calc = DFTD3(method="pbe", damping=damping)
    assert ours.energy == pytest.approx(ref.get_potential_energy(), rel=1e-10, abs=1e-12)
    assert np.allclose(ours.forces, ref.get_forces(), rtol=1e-8, atol=1e-12)
    if periodic:
        assert np.allclose(ours.stress, ref.get_stress(voigt=True), rtol=1e-8, atol=1e-14)
    else:
        assert ours.stress is None
    assert ours.energy < 0


def test_d3_forces_and_stress_are_derivatives_of_the_energy():
    at = _periodic()
    lab = d3_labels(at, "pbe", "d3bj")
    h = 1e-4
    for i, k in [(0, 0), (3, 1), (9, 2)]:
        p, m = at.copy(), at.copy()
        p.positions[i, k] += h
        m.positions[i, k] -= h
        fd = -(d3_labels(p, "pbe").energy - d3_labels(m, "pbe").energy) / (2 * h)
        assert lab.forces[i, k] == pytest.approx(fd, rel=1e-5, abs=1e-8)
    scale = np.abs(lab.stress).max()
    for v, (a, b) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h
        e = []
        for s in (1, -1):
            x = at.copy()
            x.set_cell(at.cell[:] @ (np.eye(3) + s * eps), scale_atoms=True)
            e.append(d3_labels(x, "pbe").energy)
        fd = (e[0] - e[1]) / (2 * h) / at.get_volume() / (1 if a == b else 2)
        # within 0.3 % of the largest component: D3 sums pairs within a 60 Bohr sphere (coordination
        # numbers within 40 Bohr), and pairs crossing it under strain show in the finite
        # difference, not in the analytic virial
        assert lab.stress[v] == pytest.approx(fd, abs=3e-3 * scale)


def test_the_toggle_adds_d3_to_a_labeler_and_names_it():
    s = LabelSettings.model_validate({"labeler": "ase", "options": {"calculator": "ase.calculators.emt:EMT"},
                                      "dispersion": "d3bj", "dispersion_functional": "PBE"})
    lab = make_labeler(s)
    assert isinstance(lab, D3Labeler) and lab.level_of_theory.endswith(";+D3(BJ):pbe")
    at = molecule("CH3CH2OH")
    at.center(vacuum=4.0)
    at.pbc = True
    plain = make_labeler(s.model_copy(update={"dispersion": "none"})).label(at)
    both = lab.label(at)
    d3 = d3_labels(at, "pbe")
    assert both.energy == pytest.approx(plain.energy + d3.energy)
    assert np.allclose(both.forces, plain.forces + d3.forces)
    assert np.allclose(both.stress, plain.stress + d3.stress)


@pytest.mark.parametrize("labels, match", [
    ({"labeler": "xtb", "method": "GFN1-xTB"}, "includes D3"),
    ({"labeler": "xtb", "method": "GFN2-xTB"}, "D4"),
    ({"labeler": "cp2k", "method": "PBE"}, "options.dispersion: null"),
    ({"labeler": "ase", "options": {"calculator": "ase.calculators.emt:EMT"}}, "dispersion_functional"),
    ({"labeler": "ase", "options": {"calculator": "ase.calculators.emt:EMT"}, "dispersion_functional": "nope"},
     "no D3\\(BJ\\) parameters"),
])
def test_double_counting_and_unknown_functionals_are_refused(labels, match):
    pytest.importorskip("tblite") if labels["labeler"] == "xtb" else None
    with pytest.raises(RecipeError, match=match):
        make_labeler(LabelSettings.model_validate({**labels, "dispersion": "d3bj"}))


def test_cp2k_without_its_own_d3_gets_pbe_d3bj():
    s = LabelSettings.model_validate({"labeler": "cp2k", "method": "PBE", "options": {"dispersion": None},
                                      "dispersion": "d3bj"})
    lab = make_labeler(s)
    assert lab.level_of_theory.startswith("cp2k:PBE;") and lab.level_of_theory.endswith("+D3(BJ):pbe")
