"""Calculators for MD: a MACE model file (or a committee of them), or a named ASE calculator.

The one place where ``ilforge md`` turns a model argument into an ASE calculator; the runner itself
accepts any ASE calculator. ``CalculatorSpec`` is picklable so that state points can run in
separate processes, each building its own calculator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ase.calculators.calculator import Calculator, all_changes

from ilforge.errors import IlforgeError, require


def import_mace():
    """Import mace under torch >= 2.6: e3nn 0.4.4 (a mace dependency) loads its constants with
    ``torch.load`` whose default became ``weights_only=True``; that load needs ``slice`` allowlisted."""
    torch = require("torch", "mace")
    torch.serialization.add_safe_globals([slice])
    return require("mace", "mace")


def mace_calculator(model_paths, device: str = "cpu", default_dtype: str = "float64"):
    """MACE's ``MACECalculator`` for one model file or a list (a committee: results gain ``forces_comm``)."""
    import_mace()
    from mace.calculators import MACECalculator

    paths = [str(p) for p in ([model_paths] if isinstance(model_paths, (str, Path)) else model_paths)]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise IlforgeError(f"model file(s) not found: {', '.join(missing)}; train one with `ilforge train` or give the path")
    import torch

    # mace 0.3.16 calls torch.load without weights_only, which torch >= 2.6 turns into a
    # weights-only load that rejects whole pickled models; load them here instead. A model
    # file is pickled code: load only files you trust (your own training runs).
    models = [torch.load(p, map_location=device, weights_only=False) for p in paths]
    return MACECalculator(models=models, device=device, default_dtype=default_dtype)


@dataclass(frozen=True)
class CalculatorSpec:
    """What to run: ``model`` is a MACE model path, several paths separated by commas (a committee),
    or the name of an ASE calculator for tests and demos (``emt``, ``lj``)."""

    model: str
    device: str = "cpu"
    default_dtype: str = "float64"

    def __call__(self):
        name = self.model.strip().lower()
        if name == "emt":
            from ase.calculators.emt import EMT

            return EMT()
        if name == "lj":
            from ase.calculators.lj import LennardJones

            return LennardJones(sigma=2.5, epsilon=0.01, rc=7.0, smooth=True)
        return mace_calculator([p for p in self.model.split(",") if p], self.device, self.default_dtype)


class LabelerCalculator(Calculator):
    """An ASE calculator that runs a :class:`~ilforge.reference.base.Labeler` (reference MD with xTB, the
    classical force field...). Energy, forces and, when the labeler gives it, stress (needed for NPT)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, labeler):
        super().__init__()
        self.labeler = labeler

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        lab = self.labeler.label(self.atoms)
        self.results = {"energy": lab.energy, "free_energy": lab.energy, "forces": lab.forces}
        if lab.stress is not None:
            self.results["stress"] = lab.stress
        elif "stress" in properties:
            name = self.labeler.level_of_theory or type(self.labeler).__name__
            raise IlforgeError(f"{name} gives no stress; run NVT instead of NPT")
