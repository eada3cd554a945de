"""GFN-xTB reference labels with tblite (GFN1-xTB, GFN2-xTB), periodic cells and stress.

Extended tight binding (Grimme and co-workers: GFN1-xTB, J. Chem. Theory Comput. 13, 1989 (2017);
GFN2-xTB, J. Chem. Theory Comput. 15, 1652 (2019)) through tblite's ASE calculator. Energies in
eV, forces eV/Å (= −∂E/∂r), stress eV/Å³ from tblite's virial W as σ = W / V (Voigt order
xx, yy, zz, yz, xz, xy; ASE sign), for fully periodic frames only; molecules (pbc all False) get
no stress. Exposed: electronic temperature (Fermi smearing, K), accuracy (tblite's convergence
scale; smaller is tighter), maximum SCF iterations. An SCF that does not converge raises
:class:`LabelError` (not retryable: the same settings give the same outcome).

tblite parallelises with OpenMP: set ``OMP_NUM_THREADS`` before the library loads (the engine
does so for its workers).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge.errors import require
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler

METHODS = ("GFN1-xTB", "GFN2-xTB")


class XTBLabeler(Labeler):
    """GFN1-xTB or GFN2-xTB single points with tblite.

    method: ``GFN1-xTB`` or ``GFN2-xTB``. electronic_temperature_K: Fermi smearing temperature (K).
    accuracy: tblite accuracy (1.0 default; convergence thresholds scale with it).
    max_iterations: SCF iteration limit. charge: total charge of every frame (e; 0 for a neutral
    box). mixer_damping: Broyden damping (tblite default 0.4).
    """

    def __init__(self, method: str = "GFN1-xTB", electronic_temperature_K: float = 300.0, accuracy: float = 1.0,
                 max_iterations: int = 250, charge: int = 0, mixer_damping: float = 0.4):
        if method not in METHODS:
            raise LabelError(f"xtb: unknown method {method!r}; choose one of {METHODS}", retryable=False)
        if electronic_temperature_K < 0 or accuracy <= 0 or max_iterations < 1:
            raise LabelError("xtb: electronic_temperature_K must be >= 0, accuracy > 0 and max_iterations >= 1",
                             retryable=False)
        self.method = method
        self.electronic_temperature_K = float(electronic_temperature_K)
        self.accuracy = float(accuracy)
        self.max_iterations = int(max_iterations)
        self.charge = int(charge)
        self.mixer_damping = float(mixer_damping)
        self.level_of_theory = (
            f"xtb:{method};etemp={self.electronic_temperature_K:g}K;acc={self.accuracy:g}"
            + (f";charge={self.charge}" if self.charge else "")
        )

    def _calculator(self, charge: int, multiplicity: int | None):
        tb = require("tblite.ase", "xtb")
        return tb.TBLite(
            method=self.method, electronic_temperature=self.electronic_temperature_K, accuracy=self.accuracy,
            max_iterations=self.max_iterations, charge=charge, multiplicity=multiplicity,
            mixer_damping=self.mixer_damping, verbosity=0,
        )

    def _run(self, atoms: Atoms, charge: int, multiplicity: int | None):
        from ase.calculators.calculator import CalculationFailed

        pbc = np.asarray(atoms.pbc, dtype=bool)
        if pbc.any() and not pbc.all():
            raise LabelError(f"xtb: mixed periodicity {pbc.tolist()} is not supported; use pbc all True or all False",
                             retryable=False)
        a = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        a.calc = self._calculator(charge, multiplicity)
        try:
            energy = a.get_potential_energy()
            forces = a.get_forces()
            stress = a.get_stress(voigt=True) if pbc.all() else None
        except CalculationFailed as exc:
            msg = str(exc)
            if "not converged" in msg.lower():
                raise LabelError(f"xtb: SCF not converged ({msg}); raise max_iterations or electronic_temperature_K",
                                 retryable=False) from None
            raise LabelError(f"xtb: tblite failed: {msg}") from None
        return Labels(energy, forces, stress)

    def label(self, atoms: Atoms) -> Labels:
        return self._run(atoms, self.charge, None)

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """Energy (eV) of an isolated atom or ion, non-periodic. GFN-xTB here is not spin-polarised:
        the multiplicity sets the number of unpaired electrons (occupations) only."""
        a = Atoms(symbol_or_atoms) if isinstance(symbol_or_atoms, str) else symbol_or_atoms.copy()
        a.pbc = False
        return self._run(a, int(charge), spin_multiplicity).energy
