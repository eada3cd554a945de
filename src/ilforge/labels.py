"""Reference labels of one frame and the error of a frame that could not be labelled.

Neutral ground shared by the labelers (:mod:`ilforge.reference`), the frame store
(:mod:`ilforge.store`) and the label tasks' result files: it imports nothing but numpy and
:mod:`ilforge.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ilforge.errors import IlforgeError


class LabelError(IlforgeError):
    """A frame could not be labelled (SCF not converged, crash of the code...); ``reason`` says why,
    ``retryable`` whether another attempt could succeed."""

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def voigt(stress) -> np.ndarray:
    """A stress as Voigt 6 (xx, yy, zz, yz, xz, xy) from Voigt 6 or a 3×3 matrix."""
    s = np.asarray(stress, dtype=float)
    if s.shape == (3, 3):
        return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    if s.size == 9:
        return voigt(s.reshape(3, 3))
    return s.reshape(6)



@dataclass
class Labels:
    """Reference labels of one frame.

    energy: total energy, eV. forces: (n_atoms, 3), eV/Å. stress: (6,) Voigt (xx, yy, zz, yz, xz, xy),
    eV/Å³, ASE sign convention (positive = tensile), or None when the method gives none. A (3, 3)
    stress is converted to Voigt order.
    """

    energy: float
    forces: np.ndarray
    stress: np.ndarray | None = None

    def __post_init__(self):
        self.energy = float(self.energy)
        self.forces = np.asarray(self.forces, dtype=float)
        if self.stress is not None:
            s = np.asarray(self.stress, dtype=float)
            self.stress = voigt(s) if s.shape == (3, 3) else s
        if not np.isfinite(self.energy) or not np.all(np.isfinite(self.forces)):
            raise LabelError("non-finite energy or forces", retryable=False)

    def to_dict(self) -> dict:
        """JSON-able form (lists of floats; Python's float repr round-trips every double exactly)."""
        return {
            "energy_eV": self.energy,
            "forces_eV_A": self.forces.tolist(),
            "stress_eV_A3": None if self.stress is None else self.stress.tolist(),
        }

    @classmethod
    def from_dict(cls, doc: dict) -> "Labels":
        """Inverse of :meth:`to_dict`."""
        stress = doc.get("stress_eV_A3")
        return cls(doc["energy_eV"], np.asarray(doc["forces_eV_A"], dtype=float).reshape(-1, 3),
                   None if stress is None else np.asarray(stress, dtype=float))
