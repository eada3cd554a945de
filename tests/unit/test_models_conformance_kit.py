"""The backend conformance kit catches wrong physics: a correct calculator passes, a wrong sign fails."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT

from ilforge.models.testing import check_forces, check_stress, numerical_stress


class Corrupted(Calculator):
    """EMT with one result multiplied by ``factor`` (a sign flip or a wrong scale)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, key, factor):
        super().__init__()
        self.key, self.factor, self.inner = key, factor, EMT()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms.copy()
        a.calc = self.inner
        self.results = {"energy": a.get_potential_energy(), "free_energy": a.get_potential_energy(),
                        "forces": a.get_forces(), "stress": a.get_stress(voigt=True)}
        self.results[self.key] = self.results[self.key] * self.factor


@pytest.fixture
def alloy():
    a = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 1, 1))
    a.symbols[[1, 4]] = "Au"
    a.set_cell(a.cell @ np.array([[1.0, 0.02, 0.0], [0.0, 0.99, 0.01], [0.0, 0.0, 1.01]]), scale_atoms=True)
    a.positions += np.random.default_rng(0).normal(0, 0.08, a.positions.shape)
    return a


def test_correct_calculator_passes(alloy):
    check_forces(EMT(), alloy, max_components=24)
    check_stress(EMT(), alloy)


def test_numerical_stress_agrees_with_ase(alloy):
    from ase.calculators.fd import calculate_numerical_stress

    a = alloy.copy()
    a.calc = EMT()
    np.testing.assert_allclose(numerical_stress(EMT(), alloy), calculate_numerical_stress(a, 1e-5), atol=1e-7)


@pytest.mark.parametrize("key,factor,check", [("forces", -1.0, check_forces), ("forces", 1.05, check_forces),
                                              ("stress", -1.0, check_stress), ("stress", 1.05, check_stress)])
def test_wrong_forces_or_stress_fail(alloy, key, factor, check):
    with pytest.raises(AssertionError, match="finite differences"):
        check(Corrupted(key, factor), alloy)


def test_wrong_pressure_alone_fails(alloy):
    """A stress right off the diagonal but with a wrong trace fails the −dE/dV comparison too."""

    class WrongTrace(Corrupted):
        def calculate(self, *args, **kwargs):
            super().calculate(*args, **kwargs)
            self.results["stress"] = self.results["stress"] + np.array([1, 1, 1, 0, 0, 0]) * 1e-3

    with pytest.raises(AssertionError, match="finite differences"):
        check_stress(WrongTrace("energy", 1.0), alloy)
