"""DFT labels with Quantum ESPRESSO (pw.x) through ASE's Espresso calculator.

Default: PBE with Grimme's D3 correction (``vdw_corr='dft-d3'``, zero damping,
``dftd3_version=3``) as in the ionic-liquid MLIP papers; plane-wave cutoffs 60 Ry (wavefunctions)
and 480 Ry (density, for ultrasoft/PAW pseudopotentials); the Γ point (``kpts=None``);
SCF threshold 1e-8 Ry; forces and stress printed. The user supplies the pseudopotentials
(``pseudopotentials: {element: file}``, ``pseudo_dir``): ilforge ships none and downloads none.
Any pw.x namelist entry can be overridden through ``input_data`` (nested: ``{system: {ecutwfc: 80}}``).

Energies eV, forces eV/Å, stress eV/Å³ (ASE converts from Ry units). An SCF that does not converge
(pw.x stops with "convergence NOT achieved") is a :class:`LabelError`.

``command`` is run as an argument list (a string is split with :func:`shlex.split`), never through a
shell. Any command other than the plain ``pw.x`` (``mpirun -np 4 pw.x``, a path, a wrapper script)
is code named by the recipe and needs the user's opt-in (:mod:`ilforge.trust`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import trust
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler
from ilforge.reference.cp2k import remove_run_dir, run_dir

#: the command run without the opt-in
DEFAULT_COMMAND = ("pw.x",)

DEFAULT_INPUT = {
    "control": {"calculation": "scf", "tprnfor": True, "tstress": True, "disk_io": "none"},
    "system": {"ecutwfc": 60.0, "ecutrho": 480.0, "input_dft": "PBE", "vdw_corr": "dft-d3", "dftd3_version": 3,
               "occupations": "fixed"},
    "electrons": {"conv_thr": 1e-8, "electron_maxstep": 100, "mixing_beta": 0.5},
}


def command_argv(command: str | list[str]) -> list[str]:
    """The pw.x command as an argument list (no shell); anything but :data:`DEFAULT_COMMAND` needs the opt-in."""
    return trust.command_argv(command, {DEFAULT_COMMAND}, "the pw.x command", "pw.x")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class EspressoLabeler(Labeler):
    """pseudopotentials: element -> pseudopotential file name (in ``pseudo_dir``); required.
    pseudo_dir: directory of the files. method: functional (``input_dft``; PBE). input_data:
    namelist overrides. kpts: k-point mesh (None = Γ). command: pw.x command, a string or an argument list
    (e.g. "mpirun -np 4 pw.x"; anything but ``pw.x`` needs the opt-in of :mod:`ilforge.trust`)."""

    def __init__(self, pseudopotentials: dict[str, str], pseudo_dir: str, method: str = "PBE",
                 input_data: dict | None = None, kpts: list[int] | None = None, command: str | list[str] = "pw.x"):
        if not pseudopotentials:
            raise LabelError("espresso: give pseudopotentials: {element: file} and pseudo_dir in labels.options",
                             retryable=False)
        missing = [f for f in pseudopotentials.values() if not (Path(pseudo_dir) / f).is_file()]
        if missing:
            raise LabelError(f"espresso: pseudopotential files {missing} not found in {pseudo_dir}", retryable=False)
        self.pseudopotentials = dict(pseudopotentials)
        self.pseudo_dir = str(pseudo_dir)
        self.argv = command_argv(command)
        self.kpts = list(kpts) if kpts else None
        self.input_data = _merge(DEFAULT_INPUT, {"system": {"input_dft": method}})
        self.input_data = _merge(self.input_data, input_data or {})
        settings = {"input": self.input_data, "pp": self.pseudopotentials, "kpts": self.kpts}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
        sysd = self.input_data["system"]
        vdw = sysd.get("vdw_corr")
        self.level_of_theory = (
            f"espresso:{sysd['input_dft']}" + (f"-{vdw}" if vdw else "")
            + f";ecutwfc={sysd['ecutwfc']:g}Ry;kpts={'gamma' if not self.kpts else 'x'.join(map(str, self.kpts))};{digest}"
        )

    def calculator(self, directory: str, charge: int = 0, multiplicity: int | None = None):
        """The ASE Espresso calculator for one run in ``directory``."""
        from ase.calculators.espresso import Espresso, EspressoProfile

        data = copy.deepcopy(self.input_data)
        if charge:
            data["system"]["tot_charge"] = charge
        if multiplicity and multiplicity > 1:
            data["system"].update({"nspin": 2, "tot_magnetization": multiplicity - 1})
        # ASE splits the command with shlex.split and runs the list without a shell
        profile = EspressoProfile(command=shlex.join(self.argv), pseudo_dir=self.pseudo_dir)
        return Espresso(profile=profile, directory=directory, input_data=data,
                        pseudopotentials=self.pseudopotentials, kpts=self.kpts)

    def _run(self, atoms: Atoms, charge: int = 0, multiplicity: int | None = None) -> Labels:
        if shutil.which(self.argv[0]) is None:
            raise LabelError(f"espresso: {self.argv[0]!r} not found; install Quantum ESPRESSO or fix "
                             "labels.options.command", retryable=False)
        tmp = run_dir("ilforge-qe-")
        try:
            a = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=True)
            a.calc = self.calculator(tmp, charge, multiplicity)
            try:
                energy = a.get_potential_energy()
                forces = a.get_forces()
                stress = a.get_stress(voigt=True) if np.all(atoms.pbc) else None
            except Exception as exc:
                out = Path(tmp) / "espresso.pwo"
                text = out.read_text(errors="replace") if out.is_file() else ""
                if "convergence NOT achieved" in text:
                    raise LabelError("espresso: SCF convergence NOT achieved; raise electron_maxstep or lower "
                                     "mixing_beta in input_data.electrons", retryable=False) from None
                raise LabelError(f"espresso: {type(exc).__name__}: {exc}") from None
            return Labels(energy, forces, stress)
        finally:
            remove_run_dir(tmp)

    def label(self, atoms: Atoms) -> Labels:
        return self._run(atoms)

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None,
                        box_A: float = 12.0) -> float:
        """Energy of an isolated atom/ion in a cubic box of ``box_A`` Å (periodic images; use a large box)."""
        a = Atoms(symbol_or_atoms) if isinstance(symbol_or_atoms, str) else symbol_or_atoms.copy()
        a.cell = [box_A] * 3
        a.center()
        a.pbc = False
        return self._run(a, int(charge), spin_multiplicity).energy
