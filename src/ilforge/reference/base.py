"""The labeler contract: ``label(atoms) -> Labels`` plus a ``level_of_theory`` string.

Every reference method (xTB, CP2K, Quantum ESPRESSO, the classical force field, any ASE
calculator) implements :class:`Labeler`. Labels from different levels of theory are never mixed
in one training set, so ``level_of_theory`` must name the method and every setting that changes
the numbers (e.g. ``"xtb:GFN1-xTB;etemp=300"``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from ilforge.errors import IlforgeError


class LabelError(IlforgeError):
    """A frame could not be labelled (SCF not converged, crash of the code...); ``reason`` says why."""

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass
class Labels:
    """Reference labels of one frame.

    energy: total energy, eV. forces: (n_atoms, 3), eV/Å. stress: (6,) Voigt (xx, yy, zz, yz, xz, xy),
    eV/Å³, ASE sign convention (positive = tensile), or None when the method gives none.
    """

    energy: float
    forces: np.ndarray
    stress: np.ndarray | None = None

    def __post_init__(self):
        self.energy = float(self.energy)
        self.forces = np.asarray(self.forces, dtype=float)
        if self.stress is not None:
            s = np.asarray(self.stress, dtype=float)
            if s.shape == (3, 3):
                s = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
            self.stress = s
        if not np.isfinite(self.energy) or not np.all(np.isfinite(self.forces)):
            raise LabelError("non-finite energy or forces", retryable=False)


class Labeler(ABC):
    """Base class of reference methods. Subclasses set :attr:`level_of_theory` and implement :meth:`label`."""

    #: method and settings, e.g. "xtb:GFN1-xTB;etemp=300;acc=1.0"
    level_of_theory: str = ""

    @abstractmethod
    def label(self, atoms: Atoms) -> Labels:
        """Energy, forces and stress of ``atoms``; raise :class:`LabelError` with the reason on failure."""

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """Energy (eV) of an isolated atom or ion at this level of theory (non-periodic or large box)."""
        raise NotImplementedError(f"{type(self).__name__} does not provide isolated-atom energies")
