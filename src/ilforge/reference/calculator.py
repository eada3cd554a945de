"""An ASE calculator that runs a :class:`~ilforge.reference.base.Labeler` (the one implementation).

Used for MD and relaxations at the reference level: the labelling strategies (reference MD,
relaxation steps) and MD with a reference method (xTB, the classical force field...) in
:mod:`ilforge.md`. Results: energy and free energy (eV), forces ((n, 3) eV/Å) and, when the
labeler gives it, stress ((6,) Voigt eV/Å³, ASE sign convention; needed for NPT).
"""

from __future__ import annotations

from ase.calculators.calculator import Calculator, all_changes

from ilforge.errors import IlforgeError
from ilforge.labels import Labels


class LabelerCalculator(Calculator):
    """ASE calculator of a labeler; :attr:`last_labels` holds the labels of the last geometry computed."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, labeler):
        super().__init__()
        self.labeler = labeler
        self.last_labels: Labels | None = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        lab = self.labeler.label(self.atoms)
        self.last_labels = lab
        self.results = {"energy": lab.energy, "free_energy": lab.energy, "forces": lab.forces}
        if lab.stress is not None:
            self.results["stress"] = lab.stress
        elif "stress" in properties:
            name = self.labeler.level_of_theory or type(self.labeler).__name__
            raise IlforgeError(f"{name} gives no stress; run NVT instead of NPT")
