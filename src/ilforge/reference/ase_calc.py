"""Labels from any ASE calculator, given by import path and keyword arguments.

Recipe: ``labels: {labeler: ase, options: {calculator: "ase.calculators.emt:EMT", kwargs: {}}}``.
Energy (eV), forces (eV/Å) and, when the calculator implements it and the frame is periodic,
stress (eV/Å³, Voigt). The level of theory names the class and its keyword arguments.

Trust: importing an object named in a recipe runs code (``os:system`` would run a shell command
on every label). Only the pure-Python ASE calculators of :data:`BUILTIN_CALCULATORS` are imported
without asking; any other import path needs the user's opt-in (:mod:`ilforge.trust`), checked when
the labeler is built (before any work). A labeler built inside :func:`ilforge.trust.describing`
(for its level of theory only) imports nothing until its first label, checked then.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
from ase import Atoms

from ilforge import trust
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler

#: ASE calculators that compute in Python from their keyword arguments only (no files, no commands):
#: imported without the opt-in
BUILTIN_CALCULATORS = frozenset({
    "ase.calculators.emt:EMT",
    "ase.calculators.lj:LennardJones",
    "ase.calculators.morse:MorsePotential",
})


def split_import_path(path: str) -> tuple[str, str]:
    """``"package.module:Name"`` or ``"package.module.Name"`` -> ``(module, name)``."""
    mod, sep, name = str(path).partition(":")
    if not sep:
        mod, _, name = str(path).rpartition(".")
    if not mod or not name:
        raise LabelError(f"labels.options.calculator: {path!r} is not an import path like "
                         "'ase.calculators.emt:EMT'", retryable=False)
    return mod, name


def check_import_allowed(path: str) -> None:
    """Refuse importing ``path`` from a recipe unless it is a built-in calculator or the user opted in."""
    mod, name = split_import_path(path)
    if f"{mod}:{name}" in BUILTIN_CALCULATORS:
        return
    trust.require_recipe_code("labels.options.calculator",
                              f"import {path!r} (object {name!r} of Python module {mod!r}) and call it with "
                              "labels.options.kwargs for every frame (this runs that code as you)")


def import_object(path: str):
    """``"package.module:Name"`` or ``"package.module.Name"`` -> the object (after the trust check)."""
    check_import_allowed(path)
    mod, name = split_import_path(path)
    try:
        return getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as exc:
        raise LabelError(f"ase: cannot import {path!r}: {exc}", retryable=False) from None


class ASECalculatorLabeler(Labeler):
    """calculator: import path of an ASE Calculator class; kwargs: its keyword arguments (JSON-able);
    stress: compute stress for periodic frames when the calculator supports it;
    name: optional short name used in the level of theory instead of the import path."""

    def __init__(self, calculator: str, kwargs: dict | None = None, stress: bool = True, name: str | None = None):
        self.calculator = calculator
        self.kwargs = dict(kwargs or {})
        self.stress = bool(stress)
        # built to be run: refuse or import now, before any work; only described: import nothing
        self._cls = None if trust.is_describing() else import_object(calculator)
        try:
            args = json.dumps(self.kwargs, sort_keys=True, separators=(",", ":"))
        except TypeError:
            raise LabelError("ase: kwargs must be JSON-serialisable (numbers, strings, lists, dicts)",
                             retryable=False) from None
        self.level_of_theory = f"ase:{name or calculator};{args}"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cls"] = None
        return state

    def _calculator_class(self):
        if self._cls is None:
            self._cls = import_object(self.calculator)
        return self._cls

    def label(self, atoms: Atoms) -> Labels:
        a = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        a.calc = self._calculator_class()(**self.kwargs)
        try:
            energy = a.get_potential_energy()
            forces = a.get_forces()
            stress = None
            if self.stress and np.all(a.pbc) and "stress" in getattr(a.calc, "implemented_properties", ()):
                stress = a.get_stress(voigt=True)
        except LabelError:
            raise
        except Exception as exc:  # any calculator error is a failed label, recorded with its message
            raise LabelError(f"ase: {type(exc).__name__}: {exc}") from None
        return Labels(energy, forces, stress)

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """Energy of an isolated atom or molecule (non-periodic); charge and spin are not passed to
        generic calculators, so only neutral species are accepted."""
        if charge:
            raise LabelError("ase: a generic ASE calculator has no charge setting; isolated ions are not supported",
                             retryable=False)
        a = Atoms(symbol_or_atoms) if isinstance(symbol_or_atoms, str) else symbol_or_atoms.copy()
        a.pbc = False
        a.cell = np.zeros((3, 3))
        return self.label(a).energy
