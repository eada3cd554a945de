"""DFT labels with CP2K (Quickstep, GPW) through ASE's CP2K calculator and ``cp2k_shell``.

Defaults follow the ionic-liquid MLIP papers: PBE with Grimme's D3 dispersion and Becke–Johnson
damping (D3(BJ); Grimme, Ehrlich, Goerigk, J. Comput. Chem. 32, 1456 (2011)), DZVP-MOLOPT-SR-GTH
basis sets, GTH-PBE pseudopotentials, a 400 Ry plane-wave cutoff (relative cutoff 50 Ry), the Γ
point only, orbital transformation (OT) for the SCF. Basis and potential files are read from
Debian's ``/usr/share/cp2k`` (package ``cp2k``; ``make setup`` installs it). Every setting can be
overridden through ``labels.options``; ``extra_input`` merges raw CP2K input sections.

Energies eV, forces eV/Å, stress eV/Å³ (CP2K's analytical stress tensor, Voigt, ASE sign).
A non-converged SCF aborts CP2K ≥ 2023 (unless IGNORE_CONVERGENCE_FAILURE is given in
``extra_input``); the labeler reports it as :class:`LabelError` with CP2K's message.
The CP2K shell is one long-lived subprocess per labeler (per worker process).

Trust (:mod:`ilforge.trust`): ``command`` is quoted word by word (ASE starts the shell through
``sh``), and a command other than a plain ``cp2k_shell[.psmp|.ssmp]`` needs the user's opt-in, as do
CP2K preprocessor directives (``@INCLUDE``, ``@SET``, ``@IF``...) in ``extra_input`` and
``isolated_input``; any raw input is flagged in the log. Run files live in a temporary directory
``ilforge-cp2k-<pid>-*``, removed by :meth:`CP2KLabeler.close` or at exit; directories of processes
that no longer exist (a killed run) are removed when the next one starts.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import Rydberg

from ilforge import trust
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler

log = logging.getLogger(__name__)

DATA_DIR = "/usr/share/cp2k"
DISPERSION = {"D3(BJ)": "DFTD3(BJ)", "D3": "DFTD3", None: None}
#: commands run without the opt-in (CP2K's shell executables, found on PATH)
DEFAULT_COMMANDS = {("cp2k_shell.psmp",), ("cp2k_shell.ssmp",), ("cp2k_shell",)}
#: CP2K input preprocessor directives (they read other files, set and test variables)
_DIRECTIVE = re.compile(r"^\s*@\s*([A-Za-z]+)", re.MULTILINE)
_FILE_KEYWORD = re.compile(r"^\s*(\S*FILE_?NAME\S*)\s", re.MULTILINE | re.IGNORECASE)
_RUN_DIRS: set[str] = set()
_flagged: set[str] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_run_dirs(prefix: str, base: str | None = None) -> list[str]:
    """Remove ``<tmp>/<prefix><pid>-*`` directories whose process is gone (a run killed before its
    cleanup); returns the removed paths."""
    removed = []
    for d in Path(base or tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = d.name[len(prefix):].split("-", 1)[0]
        if d.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(str(d))
    if removed:
        log.info("removed %d temporary director(y/ies) of killed runs: %s", len(removed), removed)
    return removed


def run_dir(prefix: str, base: str | None = None) -> str:
    """A new temporary directory ``<prefix><pid>-XXXX`` for the files of an external code, removed
    at exit of this process (or by :func:`remove_run_dir`); stale ones of dead processes go first."""
    remove_stale_run_dirs(prefix, base)
    d = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=base)
    _RUN_DIRS.add(d)
    return d


def remove_run_dir(path: str | None) -> None:
    """Remove a directory made by :func:`run_dir`."""
    if path:
        shutil.rmtree(path, ignore_errors=True)
        _RUN_DIRS.discard(path)


@atexit.register
def _remove_run_dirs_at_exit() -> None:
    for d in list(_RUN_DIRS):
        remove_run_dir(d)


def check_raw_input(field: str, text: str) -> None:
    """Raw CP2K input from a recipe: preprocessor directives need the opt-in; file names are flagged."""
    if not text.strip():
        return
    directives = sorted({m.upper() for m in _DIRECTIVE.findall(text)})
    if directives:
        trust.require_recipe_code(f"labels.options.{field}", "pass CP2K preprocessor directives "
                                  f"{['@' + d for d in directives]} to CP2K (they read other files and set variables)")
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    if digest not in _flagged and not trust.is_describing():
        _flagged.add(digest)
        files = sorted(set(_FILE_KEYWORD.findall(text)))
        log.warning("labels.options.%s: raw CP2K input (sha256 %s, %d lines) is merged into every input%s",
                    field, digest, len(text.splitlines()), f"; it names files: {files}" if files else "")


def command_argv(command: str | list[str]) -> list[str]:
    """The CP2K shell command as an argument list; anything but :data:`DEFAULT_COMMANDS` needs the opt-in."""
    return trust.command_argv(command, DEFAULT_COMMANDS, "the CP2K shell", "cp2k_shell.psmp")


def _d3_input(kind: str, functional: str, data_dir: str) -> str:
    param = Path(data_dir) / "dftd3.dat"
    return f"""
&FORCE_EVAL
  &DFT
    &XC
      &VDW_POTENTIAL
        POTENTIAL_TYPE PAIR_POTENTIAL
        &PAIR_POTENTIAL
          TYPE {kind}
          PARAMETER_FILE_NAME {param}
          REFERENCE_FUNCTIONAL {functional}
        &END PAIR_POTENTIAL
      &END VDW_POTENTIAL
    &END XC
  &END DFT
&END FORCE_EVAL
"""


def _scf_input(ot: bool, eps_scf: float, outer_max_scf: int, minimizer: str = "DIIS",
               preconditioner: str = "FULL_SINGLE_INVERSE") -> str:
    """The SCF section: ATOMIC guess, and with ``ot`` orbital transformation plus an outer SCF loop."""
    ot_block = f"""
      &OT ON
        MINIMIZER {minimizer}
        PRECONDITIONER {preconditioner}
      &END OT
      &OUTER_SCF ON
        MAX_SCF {outer_max_scf}
        EPS_SCF {eps_scf:g}
      &END OUTER_SCF""" if ot else ""
    return f"""
&FORCE_EVAL
  &DFT
    &QS
      EPS_DEFAULT 1.0E-12
    &END QS
    &SCF
      SCF_GUESS ATOMIC
      EPS_SCF {eps_scf:g}{ot_block}
    &END SCF
  &END DFT
&END FORCE_EVAL
"""


def _isolated_scf_input(eps_scf: float, outer_max_scf: int) -> str:
    """OT with conjugate gradients and the FULL_ALL preconditioner: converges the open shells of
    free atoms (O triplet, H doublet) where DIIS and diagonalisation with smearing oscillate."""
    return _scf_input(True, eps_scf, outer_max_scf, minimizer="CG", preconditioner="FULL_ALL")


_SWITCHES = {"ON", "OFF", "T", "F", "TRUE", "FALSE", ".TRUE.", ".FALSE.", "YES", "NO"}


def _switch(params) -> bool:
    return params is None or str(params).strip().upper() in _SWITCHES


def merge_inputs(*texts: str) -> str:
    """Merge CP2K input snippets into one input: sections with the same name and parameters (or
    an on/off switch as parameter: a later ``&SMEAR OFF`` turns an earlier ``&SMEAR ON`` off) are
    merged recursively; a keyword of a later snippet replaces the same keyword of an earlier one."""
    from ase.calculators.cp2k import parse_input

    def merge(a, b):
        for kw in b.keywords:
            key = kw.split()[0].upper()
            a.keywords = [k for k in a.keywords if k.split()[0].upper() != key] + [kw]
        for sb in b.subsections:
            same = [sa for sa in a.subsections if sa.name == sb.name and (sa.params == sb.params or (
                _switch(sa.params) and _switch(sb.params)))]
            if same:
                if sb.params is not None:
                    same[0].params = sb.params
                merge(same[0], sb)
            else:
                a.subsections.append(sb)

    root = parse_input("")
    for t in texts:
        merge(root, parse_input(t))
    return "\n".join(root.write())


class CP2KLabeler(Labeler):
    """PBE-D3(BJ) single points with CP2K.

    method: exchange–correlation functional (CP2K name; PBE). dispersion: "D3(BJ)", "D3" or None.
    basis_set, basis_set_file, pseudo_potential, potential_file: CP2K names (files relative to
    ``data_dir`` when found there). cutoff_Ry, rel_cutoff_Ry: multigrid cutoffs, Ry. ot: orbital
    transformation (else diagonalisation). max_scf, outer_max_scf, eps_scf: SCF limits and
    convergence (Hartree). charge: total charge (e). uks, multiplicity: spin treatment.
    extra_input: raw CP2K input merged into the generated one. isolated_input: raw input merged
    for isolated atoms/ions only (their SCF: OT with CG minimiser and FULL_ALL preconditioner,
    unrestricted for open shells).
    command: the CP2K shell executable (a string or an argument list; see the module docstring).
    """

    def __init__(self, method: str = "PBE", dispersion: str | None = "D3(BJ)",
                 basis_set: str = "DZVP-MOLOPT-SR-GTH", basis_set_file: str = "BASIS_MOLOPT",
                 pseudo_potential: str = "GTH-PBE", potential_file: str = "GTH_POTENTIALS",
                 cutoff_Ry: float = 400.0, rel_cutoff_Ry: float = 50.0, ot: bool = True, max_scf: int = 50,
                 outer_max_scf: int = 10, eps_scf: float = 1e-6, charge: int = 0, uks: bool = False,
                 multiplicity: int | None = None, extra_input: str = "", isolated_input: str = "",
                 command: str | list[str] = "cp2k_shell.psmp",
                 data_dir: str = DATA_DIR):
        if dispersion not in DISPERSION:
            raise LabelError(f"cp2k: dispersion must be one of {list(DISPERSION)}, got {dispersion!r}", retryable=False)
        self.method = method
        self.dispersion = dispersion
        self.basis_set = basis_set
        self.basis_set_file = basis_set_file
        self.pseudo_potential = pseudo_potential
        self.potential_file = potential_file
        self.cutoff_Ry = float(cutoff_Ry)
        self.rel_cutoff_Ry = float(rel_cutoff_Ry)
        self.ot = bool(ot)
        self.max_scf = int(max_scf)
        self.outer_max_scf = int(outer_max_scf)
        self.eps_scf = float(eps_scf)
        self.charge = int(charge)
        self.uks = bool(uks)
        self.multiplicity = multiplicity
        self.extra_input = extra_input or ""
        self.isolated_input = isolated_input or ""
        check_raw_input("extra_input", self.extra_input)
        check_raw_input("isolated_input", self.isolated_input)
        self.argv = command_argv(command)
        self.data_dir = data_dir
        lot = (f"cp2k:{method}" + (f"-{dispersion}" if dispersion else "") + f";{basis_set};{pseudo_potential};"
               f"cutoff={self.cutoff_Ry:g}Ry;rel_cutoff={self.rel_cutoff_Ry:g}Ry;gamma;eps_scf={self.eps_scf:g}")
        if self.charge:
            lot += f";charge={self.charge}"
        if self.extra_input.strip():
            lot += ";inp=" + hashlib.sha256(self.extra_input.encode()).hexdigest()[:8]
        self.level_of_theory = lot
        self._calcs: dict = {}
        self._tmp: str | None = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_calcs"], state["_tmp"] = {}, None
        return state

    def _file(self, name: str) -> str:
        p = Path(self.data_dir) / name
        return str(p) if p.is_file() else name

    def input_template(self, isolated: bool = False) -> str:
        """The CP2K input merged into ASE's generated input (D3, SCF/OT, ``extra_input``)."""
        if isolated:
            scf = _isolated_scf_input(self.eps_scf, self.outer_max_scf)
        else:
            scf = _scf_input(self.ot, self.eps_scf, self.outer_max_scf)
        parts = [scf,
                 f"&FORCE_EVAL\n&DFT\n&MGRID\nREL_CUTOFF [Ry] {self.rel_cutoff_Ry:g}\n&END MGRID\n&END DFT\n&END FORCE_EVAL"]
        if self.dispersion:
            parts.append(_d3_input(DISPERSION[self.dispersion], self.method, self.data_dir))
        return merge_inputs(*parts, self.extra_input, self.isolated_input if isolated else "")

    def _calculator(self, charge: int, uks: bool, multiplicity: int | None, periodic: bool):
        key = (charge, uks, multiplicity, periodic)
        if key in self._calcs:
            return self._calcs[key]
        if shutil.which(self.argv[0]) is None:
            raise LabelError(
                f"cp2k: {self.argv[0]!r} not found; install CP2K (`apt-get install cp2k`, or `make setup`) "
                "or fix labels.options.command", retryable=False,
            )
        from ase.calculators.cp2k import CP2K

        if self._tmp is None:
            self._tmp = run_dir("ilforge-cp2k-")
        label = os.path.join(self._tmp, f"cp2k{len(self._calcs)}")
        calc = CP2K(
            command=shlex.join(self.argv), label=label, xc=self.method, basis_set=self.basis_set,
            basis_set_file=self._file(self.basis_set_file), pseudo_potential=self.pseudo_potential,
            potential_file=self._file(self.potential_file), cutoff=self.cutoff_Ry * Rydberg,
            max_scf=self.max_scf, charge=charge, uks=uks, multiplicity=multiplicity,
            stress_tensor=periodic, inp=self.input_template(isolated=not periodic), print_level="LOW",
        )
        self._calcs[key] = calc
        return calc

    def _drop(self, key_calc):
        for key, calc in list(self._calcs.items()):
            if calc is key_calc:
                del self._calcs[key]
        try:
            key_calc.close()
        except Exception:  # the shell may already be dead
            pass

    def _run(self, atoms: Atoms, charge: int, uks: bool, multiplicity: int | None) -> Labels:
        pbc = np.asarray(atoms.pbc, dtype=bool)
        periodic = bool(pbc.all())
        if pbc.any() and not periodic:
            raise LabelError(f"cp2k: mixed periodicity {pbc.tolist()} is not supported", retryable=False)
        calc = self._calculator(charge, uks, multiplicity, periodic)
        a = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        a.calc = calc
        out = Path(f"{calc.label}.out")
        start = out.stat().st_size if out.is_file() else 0
        try:
            energy = a.get_potential_energy()
            forces = a.get_forces()
            stress = a.get_stress(voigt=True) if periodic else None
        except Exception as exc:  # the shell died or CP2K aborted (e.g. SCF not converged)
            reason = self._abort_message(calc) or f"{type(exc).__name__}: {exc}"
            self._drop(calc)
            retryable = "converge" not in reason.lower()
            raise LabelError(f"cp2k: {reason}", retryable=retryable) from None
        if out.is_file():
            with open(out, errors="replace") as fh:
                fh.seek(start)
                if "NOT converged" in fh.read():
                    raise LabelError(f"cp2k: SCF run NOT converged within max_scf={self.max_scf} "
                                     f"(outer {self.outer_max_scf}); see {out}", retryable=False)
        return Labels(energy, forces, stress)

    @staticmethod
    def _abort_message(calc) -> str:
        out = Path(f"{calc.label}.out")
        if not out.is_file():
            return ""
        lines = out.read_text(errors="replace").splitlines()
        for i, ln in enumerate(lines):
            if "[ABORT]" in ln:
                text = " ".join(x.strip(" *").replace("\\___/", "") for x in lines[i + 1:i + 3])
                return "CP2K aborted: " + " ".join(text.split())[:500]
        return ""

    def label(self, atoms: Atoms) -> Labels:
        return self._run(atoms, self.charge, self.uks, self.multiplicity)

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None,
                        box_A: float = 10.0) -> float:
        """Energy (eV) of an isolated atom or ion: non-periodic cell of ``box_A`` Å with the
        Martyna–Tuckerman Poisson solver (ASE sets it for pbc False); unrestricted KS when open shell."""
        a = Atoms(symbol_or_atoms) if isinstance(symbol_or_atoms, str) else symbol_or_atoms.copy()
        a.pbc = False
        a.cell = [box_A, box_A, box_A]
        a.center()
        uks = spin_multiplicity is not None and spin_multiplicity > 1
        return self._run(a, int(charge), uks, spin_multiplicity).energy

    def close(self):
        for calc in list(self._calcs.values()):
            self._drop(calc)
        remove_run_dir(self._tmp)
        self._tmp = None
