"""Labels from a pretrained SevenNet foundation model (SevenNet-0 by default), run in the ``sevenn`` environment.

Recipe: ``labels: {labeler: sevennet, options: {model: 7net-0}}`` (``method`` is accepted as an alias
of ``model``); add ``dispersion: d3bj`` for Grimme's D3(BJ) with PBE's parameters (SevenNet-0 was
trained on PBE/PBE+U data from the Materials Project, MPtrj; Park et al., J. Chem. Theory Comput. 20,
4857 (2024)). The level of theory is ``sevennet:<model>`` (plus ``;modal=<m>`` for a multi-fidelity model).

Energy (eV), forces (eV/Å) and, for periodic frames, stress (eV/Å³, Voigt, ASE sign) come from
sevenn's ASE calculator in its own environment through an ASE socket calculator
(:class:`ilforge.envs.socket_calc.EnvSocketCalculator`): one client per set of atoms, started once per
labelling process (~10 s) and reused for every frame of that composition. The environment is created
on first use (``ilforge env create sevenn``).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge.envs.socket_calc import SocketCalculatorFactory
from ilforge.errors import IlforgeError
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler

ENV = "sevenn"
WORKER = "sevenn_worker"
#: pretrained models that ship in sevenn 0.13's wheel (no download)
SHIPPED_MODELS = ("7net-0", "sevennet-0", "7net-0_11july2024", "7net-0_22may2024", "7net-l3i5", "7net-mf-0")
#: side of the cubic cell of an isolated atom or molecule (non-periodic), Å
ISOLATED_BOX_A = 20.0


class SevenNetLabeler(Labeler):
    """model: a pretrained SevenNet shipped with sevenn (``7net-0``...); method: alias of ``model``;
    threads: torch threads of the client (None: the worker's OMP_NUM_THREADS); modal: the fidelity of a
    multi-fidelity model (``7net-mf-0``)."""

    #: the functional of SevenNet-0's training data: the D3 parameters ``labels.dispersion`` uses
    method = "PBE"

    def __init__(self, model: str = "7net-0", method: str | None = None, threads: int | None = None,
                 modal: str | None = None):
        self.model = str(method or model)
        if self.model.lower() not in SHIPPED_MODELS:
            raise LabelError(f"sevennet: unknown model {self.model!r}; labels.options.model must be one of the models "
                             f"shipped with sevenn: {', '.join(SHIPPED_MODELS)}", retryable=False)
        self.threads = threads
        self.modal = modal
        self.level_of_theory = f"sevennet:{self.model.lower()}" + (f";modal={modal}" if modal else "")
        self._calc = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_calc"] = None
        return state

    def factory(self) -> SocketCalculatorFactory:
        """The picklable recipe of this labeler's socket calculator."""
        return SocketCalculatorFactory.of(ENV, WORKER, {"model": self.model, "threads": self.threads, "modal": self.modal},
                                          self.threads)

    def label(self, atoms: Atoms) -> Labels:
        if self._calc is None:
            self._calc = self.factory()()
        a = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        a.calc = self._calc
        try:
            energy = a.get_potential_energy()
            forces = a.get_forces()
            stress = a.get_stress(voigt=True) if np.all(a.pbc) else None
        except IlforgeError as exc:  # the environment or its client failed
            raise LabelError(f"sevennet: {exc}") from None
        return Labels(energy, forces, stress)

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """Energy of a neutral isolated atom or molecule (non-periodic, alone in a 20 Å cell). SevenNet has
        no charge or spin input: charged species are refused."""
        if charge:
            raise LabelError("sevennet: the model has no charge input; isolated ions are not supported", retryable=False)
        a = Atoms(symbol_or_atoms) if isinstance(symbol_or_atoms, str) else symbol_or_atoms.copy()
        a.cell = np.eye(3) * ISOLATED_BOX_A
        a.pbc = False
        a.center()
        return self.label(a).energy

    def close(self) -> None:
        """Stop the socket clients."""
        if self._calc is not None:
            self._calc.close()
            self._calc = None
