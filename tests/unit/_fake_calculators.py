"""ASE calculators for runner tests (importable by spawned workers: pytest puts this folder on sys.path)."""

from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones


class FlakyLJ(Calculator):
    """Lennard-Jones, except: a frame whose first atom has x < 0 always fails ("SCF not converged"),
    and one with 0 <= x < 0.5 fails on its first attempt only (a marker file remembers the attempt)."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, marker_dir: str, **kwargs):
        super().__init__(**kwargs)
        self.marker_dir = Path(marker_dir)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x = float(self.atoms.positions[0, 0])
        if x < 0:
            raise RuntimeError("SCF not converged in 3 cycles")
        if x < 0.5:
            marker = self.marker_dir / f"{x:.6f}"
            if not marker.exists():
                marker.write_text("1")
                raise RuntimeError("transient failure")
        lj = LennardJones(sigma=1.0, epsilon=1.0, rc=3.0)
        a = self.atoms.copy()
        a.calc = lj
        self.results = {"energy": a.get_potential_energy(), "forces": a.get_forces(),
                        "stress": a.get_stress() if all(a.pbc) else np.zeros(6)}


class CrashingLJ(FlakyLJ):
    """Kills its own process (as a segfault in a Fortran library would) when the first atom has x > 5."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        import os

        if float(atoms.positions[0, 0]) > 5:
            os._exit(3)
        super().calculate(atoms, properties, system_changes)
