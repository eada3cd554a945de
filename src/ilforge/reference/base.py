"""The labeler contract: ``label(atoms) -> Labels`` plus a ``level_of_theory`` string.

Every reference method (xTB, CP2K, Quantum ESPRESSO, the classical force field, any ASE
calculator) implements :class:`Labeler`. Labels from different levels of theory are never mixed
in one training set, so ``level_of_theory`` must name the method and every setting that changes
the numbers (e.g. ``"xtb:GFN1-xTB;etemp=300"``). The labels and the error of a failed frame
(:class:`~ilforge.labels.Labels`, :class:`~ilforge.labels.LabelError`) live in :mod:`ilforge.labels`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from ase import Atoms

if TYPE_CHECKING:  # Labels and LabelError live in ilforge.labels
    from ilforge.labels import Labels


class Labeler(ABC):
    """Base class of reference methods. Subclasses set :attr:`level_of_theory` and implement :meth:`label`."""

    #: method and settings, e.g. "xtb:GFN1-xTB;etemp=300;acc=1.0"
    level_of_theory: str = ""

    @abstractmethod
    def label(self, atoms: Atoms) -> Labels:
        """Energy, forces and stress of ``atoms``; raise :class:`~ilforge.labels.LabelError` with the reason on failure."""

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """Energy (eV) of an isolated atom or ion at this level of theory (non-periodic or large box)."""
        raise NotImplementedError(f"{type(self).__name__} does not provide isolated-atom energies")
