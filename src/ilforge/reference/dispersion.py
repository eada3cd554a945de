"""Grimme's D3 dispersion added to any labeler (recipe ``labels.dispersion: none|d3bj|d3zero``).

D3 (Grimme, Antony, Ehrlich, Krieg, J. Chem. Phys. 132, 154104 (2010)) with Becke–Johnson
damping (D3(BJ); Grimme, Ehrlich, Goerigk, J. Comput. Chem. 32, 1456 (2011)) or zero damping,
two-body terms only (no Axilrod–Teller–Muto three-body term, as CP2K's and most papers' D3), from
the ``dftd3`` package (simple-dftd3, pip extra ``d3``). The damping parameters are the
functional's (``labels.dispersion_functional``, default the labeler's method, e.g. PBE).

E = E_method + E_D3 (eV); F = F_method − ∂E_D3/∂r (eV/Å); σ = σ_method + σ_D3 (eV/Å³, ASE sign,
Voigt xx yy zz yz xz xy) with σ_D3 = W_D3 / V, W_D3 the strain derivative of E_D3 that dftd3
returns as its "virial". dftd3 works in Bohr and Hartree; conversions go through
:mod:`ilforge.units`.

Double counting is refused: GFN1-xTB carries D3 and GFN2-xTB D4 already, a classical force
field's Lennard-Jones terms hold its dispersion, and CP2K or Quantum ESPRESSO with their own
D3 switched on would count it twice (switch theirs off, or keep theirs and ``dispersion: none``).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge import units
from ilforge.errors import RecipeError, require
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler

#: recipe name -> (dftd3 damping class, name in the level of theory)
DAMPINGS = {"d3bj": ("RationalDampingParam", "D3(BJ)"), "d3zero": ("ZeroDampingParam", "D3(0)")}

#: labelers whose method includes dispersion by construction, with the reason
BUILT_IN = {
    "xtb": "GFN1-xTB includes D3 and GFN2-xTB D4 dispersion already",
    "classical": "a classical force field's Lennard-Jones terms already hold its dispersion",
}


def _damping_param(damping: str, functional: str):
    """dftd3's damping parameters of ``functional`` (e.g. "pbe") for ``damping`` (d3bj, d3zero)."""
    if damping not in DAMPINGS:
        raise RecipeError(f"labels.dispersion: unknown damping {damping!r}; choose one of {sorted(DAMPINGS)} or none")
    iface = require("dftd3.interface", "d3")
    try:
        return getattr(iface, DAMPINGS[damping][0])(method=functional.lower())
    except RuntimeError:
        raise RecipeError(
            f"labels.dispersion_functional: dftd3 has no {DAMPINGS[damping][1]} parameters for {functional!r}; "
            "name a functional it knows (e.g. PBE, B3LYP, revPBE, r2SCAN)") from None


def d3_labels(atoms: Atoms, functional: str, damping: str = "d3bj") -> Labels:
    """D3 energy (eV), forces (n, 3) eV/Å and, for periodic ``atoms`` (pbc all True), stress
    (6,) eV/Å³ (Voigt, ASE sign) of ``atoms`` with the damping parameters of ``functional``."""
    iface = require("dftd3.interface", "d3")
    param = _damping_param(damping, functional)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    try:
        model = iface.DispersionModel(atoms.numbers, atoms.positions / units.BOHR,
                                      np.asarray(atoms.cell[:]) / units.BOHR, pbc)
        res = model.get_dispersion(param=param, grad=True)
    except RuntimeError as exc:
        raise LabelError(f"dftd3 could not evaluate this frame: {exc}", retryable=False) from None
    energy = float(res["energy"]) * units.HARTREE
    forces = -np.asarray(res["gradient"]) * units.HARTREE / units.BOHR
    stress = None
    if pbc.all():
        virial = np.asarray(res["virial"]) * units.HARTREE / atoms.get_volume()
        stress = virial.flat[[0, 4, 8, 5, 2, 1]]
    return Labels(energy, forces, stress)


class D3Labeler(Labeler):
    """``inner`` plus D3 dispersion with ``functional``'s parameters and ``damping`` (d3bj, d3zero).

    The level of theory is the inner one plus ``;+D3(BJ):pbe`` (or ``D3(0)``). Stress gets the D3
    part only when the inner labeler gives a stress (periodic frames)."""

    def __init__(self, inner: Labeler, functional: str, damping: str = "d3bj"):
        _damping_param(damping, functional)  # refuse an unknown functional now, not at the first frame
        self.inner = inner
        self.functional = functional.lower()
        self.damping = damping
        self.level_of_theory = f"{inner.level_of_theory};+{DAMPINGS[damping][1]}:{self.functional}"

    def label(self, atoms: Atoms) -> Labels:
        base = self.inner.label(atoms)
        d3 = d3_labels(atoms, self.functional, self.damping)
        stress = None if base.stress is None or d3.stress is None else base.stress + d3.stress
        return Labels(base.energy + d3.energy, base.forces + d3.forces, stress)

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """Inner isolated energy plus the D3 energy of the isolated (non-periodic) atom or ion
        (zero for a single atom)."""
        e = self.inner.isolated_energy(symbol_or_atoms, charge, spin_multiplicity)
        a = Atoms(symbol_or_atoms) if isinstance(symbol_or_atoms, str) else symbol_or_atoms.copy()
        if len(a) == 1:
            return e
        a.pbc = False
        return e + d3_labels(a, self.functional, self.damping).energy


def own_dispersion(labeler_name: str, labeler: Labeler) -> str | None:
    """Why ``labeler`` already includes dispersion (a sentence with the fix), or None."""
    if labeler_name in BUILT_IN:
        return BUILT_IN[labeler_name]
    if labeler_name == "cp2k" and getattr(labeler, "dispersion", None):
        return (f"CP2K's own {labeler.dispersion} is on; set labels.options.dispersion: null to use this one, "
                "or labels.dispersion: none to keep CP2K's")
    vdw = getattr(labeler, "input_data", {}).get("system", {}).get("vdw_corr") if labeler_name == "espresso" else None
    if vdw and str(vdw).lower() != "none":
        return (f"Quantum ESPRESSO's own vdw_corr={vdw} is on; set labels.options.input_data.system.vdw_corr: "
                "none to use this one, or labels.dispersion: none to keep its own")
    return None


def d3_functional(settings, labeler: Labeler) -> str:
    """The functional whose D3 parameters apply: ``settings.dispersion_functional``, else the
    labeler's method (``settings.method`` or the labeler's ``method``). Refuses double counting."""
    why = own_dispersion(settings.labeler, labeler)
    if why:
        raise RecipeError(f"labels.dispersion: {settings.dispersion} would count dispersion twice: {why}")
    functional = settings.dispersion_functional or settings.method or getattr(labeler, "method", None)
    if not functional:
        raise RecipeError(f"labels.dispersion_functional: the {settings.labeler} labeler names no functional; "
                          "say whose D3 parameters to use (e.g. dispersion_functional: PBE)")
    return str(functional)


def with_dispersion(labeler: Labeler, settings) -> Labeler:
    """``labeler`` itself when ``settings.dispersion`` is none, else wrapped in :class:`D3Labeler`."""
    if getattr(settings, "dispersion", "none") == "none":
        return labeler
    return D3Labeler(labeler, d3_functional(settings, labeler), settings.dispersion)
