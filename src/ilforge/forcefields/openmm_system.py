"""Build an OpenMM ``System`` for a box of molecules from :class:`MoleculeTemplate` s.

Box atoms carry ``mol_id`` and ``mol_species`` arrays; the atoms of each molecule, in index order,
are the species' atoms in RDKit order (what the box builder writes), checked by element. Frames from
elsewhere, in any atom order, are first put in that order by
:class:`ilforge.forcefields.matching.TemplateMapper` (the classical labeler does this).

Forces (OpenMM units: nm, kJ/mol, rad; converted here from the templates' Å and degrees):
- ``HarmonicBondForce`` E = (k/2)(r - r0)^2 (bonds not constrained), group 0;
- ``HarmonicAngleForce`` E = (k/2)(θ - θ0)^2, group 1;
- ``PeriodicTorsionForce`` for OPLS proper dihedrals (group 2) and impropers (group 3), see
  :func:`ilforge.forcefields.template.opls_to_periodic`;
- ``NonbondedForce`` for Coulomb only (PME with a real-space cutoff, or plain Coulomb for a
  non-periodic comparison): per-atom charges scaled by ``charge_scale``; LJ is zero there.
  1-2 and 1-3 pairs are excluded; 1-4 pairs are exceptions with 0.5 q_i q_j and the 1-4 LJ
  (σ_ij = sqrt(σ_i σ_j), 0.5 ε_ij, ε_ij = sqrt(ε_i ε_j)), group 4;
- ``CustomNonbondedForce`` for LJ with geometric mixing (OPLS / CL&P; OpenMM's NonbondedForce
  would use Lorentz-Berthelot), E = 4 ε_ij [(σ_ij/r)^12 - (σ_ij/r)^6] · S(r), excluding 1-2, 1-3
  and 1-4 pairs, group 5. S is OpenMM's switching function, S = 1 - 10x³ + 15x⁴ - 6x⁵ with
  x = (r - r_s)/(r_c - r_s) between r_s = r_c - ``lj_switch_width_A`` and the cutoff r_c (S = 1
  below r_s, 0 beyond r_c): energy, forces and their derivative are continuous, so the stress
  -∂E/∂ε (:mod:`ilforge.reference.classical`) and the barostat see no jump when pairs cross the
  cutoff. Width 0 = plain cut (energy jumps by u(r_c) per crossing pair). With ``lj_tail`` the
  analytic long-range correction E_tail = (2π/V) Σ_ij N_i N_j [∫_{r_s}^{r_c} (1 - S) u r² dr
  + ∫_{r_c}^∞ u r² dr] is added (OpenMM integrates the switch region; periodic systems only).
Bonded terms and exceptions use periodic boundary conditions, so wrapped molecules are fine.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ilforge import keys
from ilforge.errors import IlforgeError, require
from ilforge.forcefields.template import SCALE_14_COULOMB, SCALE_14_LJ, MoleculeTemplate, opls_to_periodic
from ilforge.units import A_TO_NM

log = logging.getLogger(__name__)

#: force groups, for energy decomposition
GROUPS = {"bonds": 0, "angles": 1, "dihedrals": 2, "impropers": 3, "coulomb": 4, "lj": 5}

Nonbonded = Literal["pme", "cutoff_periodic", "cutoff_nonperiodic", "nocutoff"]


@dataclass
class SystemInfo:
    """Per-atom force-field data of a built System (for ``ff_type`` / ``ff_charge`` arrays and checks)."""

    types: list[str]
    charges_e: np.ndarray  # scaled charges, e
    molecules: list[tuple[str, np.ndarray]]  # (species, atom indices) per molecule
    forcefield: str
    n_constraints: int


def molecules_of(atoms) -> list[tuple[str, np.ndarray]]:
    """(species, sorted atom indices) of every molecule of ``atoms``, from its mol_id / mol_species arrays."""
    if keys.MOL_ID not in atoms.arrays or keys.MOL_SPECIES not in atoms.arrays:
        raise IlforgeError(
            f"the box has no {keys.MOL_ID!r}/{keys.MOL_SPECIES!r} arrays; build it with `ilforge build` "
            f"(or set them: one molecule id and species name per atom)"
        )
    mol_id = np.asarray(atoms.arrays[keys.MOL_ID])
    mol_sp = np.asarray(atoms.arrays[keys.MOL_SPECIES])
    out = []
    for m in np.unique(mol_id):
        idx = np.flatnonzero(mol_id == m)
        sp = set(mol_sp[idx].tolist())
        if len(sp) != 1:
            raise IlforgeError(f"molecule {m} has atoms of several species {sorted(sp)}; the box arrays are broken")
        out.append((sp.pop(), idx))
    return out


@dataclass
class _Assembly:
    """Per-atom parameters and bonded forces collected molecule by molecule (internal to :func:`build_system`).

    Per-atom arrays in template units (σ in Å, ε in kJ/mol, masses in amu, charges in e, already scaled);
    ``excl`` the 1-2/1-3 pairs, ``pairs14`` the 1-4 pairs, ``cons_list`` constraints ``(i, j, d [nm])``.
    """

    types: list[str]
    charges: np.ndarray
    sig: np.ndarray
    eps: np.ndarray
    masses: np.ndarray
    bonds_f: object
    angles_f: object
    dih_f: object
    imp_f: object
    excl: list[tuple[int, int]]
    pairs14: list[tuple[int, int]]
    cons_list: list[tuple[int, int, float]]
    ffname: set

    @classmethod
    def empty(cls, mm, n: int) -> "_Assembly":
        """Zeroed arrays for ``n`` atoms and empty OpenMM bonded forces."""
        return cls(
            [""] * n, np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
            mm.HarmonicBondForce(), mm.HarmonicAngleForce(), mm.PeriodicTorsionForce(), mm.PeriodicTorsionForce(),
            [], [], [], set(),
        )


def _template_for(sp: str, idx: np.ndarray, templates: dict[str, MoleculeTemplate], symbols: list[str]) -> MoleculeTemplate:
    """The template of species ``sp``, checked against the molecule's atoms (count and elements, in order)."""
    if sp not in templates:
        raise IlforgeError(f"no force-field template for species {sp!r} (have {sorted(templates)})")
    t = templates[sp]
    if len(idx) != t.n_atoms or [symbols[i] for i in idx] != t.symbols:
        raise IlforgeError(
            f"molecule of {sp} with atoms {[symbols[i] for i in idx]} does not match the species' atoms "
            f"{t.symbols} (RDKit order with explicit H expected)"
        )
    return t


def _add_molecule(asm: _Assembly, t: MoleculeTemplate, idx: np.ndarray, charge_scale: float, constraints: str) -> None:
    """Add one molecule (template ``t`` on box atoms ``idx``): per-atom data, bonded terms, pair lists.

    Bonds: r0 Å -> nm, k kJ/mol/Å² -> kJ/mol/nm² (or a constraint at r0); angles θ0 deg -> rad;
    OPLS dihedrals and impropers through :func:`opls_to_periodic`; periodic torsions as given.
    """
    asm.ffname.add(t.forcefield)
    for a, i in enumerate(idx):
        asm.types[i] = t.types[a]
        asm.charges[i] = t.charges_e[a] * charge_scale
        asm.sig[i], asm.eps[i], asm.masses[i] = t.sigma_A[a], t.epsilon_kJ_mol[a], t.masses_amu[a]
    for a, b, r0, k, cons in t.bonds:
        i, j = int(idx[a]), int(idx[b])
        fix = (constraints == "hbonds" and "H" in (t.symbols[a], t.symbols[b])) or (constraints == "cons" and cons)
        if fix:
            asm.cons_list.append((i, j, r0 * A_TO_NM))
        else:
            asm.bonds_f.addBond(i, j, r0 * A_TO_NM, k / A_TO_NM**2)
    for a, b, c, th0, k in t.angles:
        asm.angles_f.addAngle(int(idx[a]), int(idx[b]), int(idx[c]), np.radians(th0), k)
    for a, b, c, d, v in t.torsions:
        for per, phase, k in opls_to_periodic(v):
            asm.dih_f.addTorsion(int(idx[a]), int(idx[b]), int(idx[c]), int(idx[d]), per, phase, k)
    for a, b, c, d, per, phase, k in t.periodic_torsions:
        asm.dih_f.addTorsion(int(idx[a]), int(idx[b]), int(idx[c]), int(idx[d]), int(per), float(phase), float(k))
    for a, b, c, d, v in t.impropers:
        for per, phase, k in opls_to_periodic(v):
            asm.imp_f.addTorsion(int(idx[a]), int(idx[b]), int(idx[c]), int(idx[d]), per, phase, k)
    e, p = t.pair_lists()
    asm.excl += [(int(idx[a]), int(idx[b])) for a, b in e]
    asm.pairs14 += [(int(idx[a]), int(idx[b])) for a, b in p]


def _pair_forces(mm, asm: _Assembly):
    """Coulomb ``NonbondedForce`` and geometric-mixing LJ ``CustomNonbondedForce`` with their particles.

    LJ per-particle parameters are sqrt(σ/nm) and sqrt(ε/(kJ/mol)), so σ_ij = s_i s_j, ε_ij = e_i e_j.
    1-2/1-3 pairs are excluded from both; 1-4 pairs are Coulomb exceptions with SCALE_14_COULOMB q_i q_j
    and the 1-4 LJ (σ_ij = sqrt(σ_i σ_j), SCALE_14_LJ ε_ij) and LJ exclusions.
    """
    charges, sig, eps = asm.charges, asm.sig, asm.eps
    coul = mm.NonbondedForce()
    lj = mm.CustomNonbondedForce("4*eps*(x*x - x); x = (sig/r)^6; sig = s1*s2; eps = e1*e2")
    lj.addPerParticleParameter("s")  # sqrt(sigma / nm)
    lj.addPerParticleParameter("e")  # sqrt(epsilon / kJ mol-1)
    for i in range(len(charges)):
        coul.addParticle(float(charges[i]), 0.1, 0.0)
        lj.addParticle([float(np.sqrt(sig[i] * A_TO_NM)), float(np.sqrt(eps[i]))])
    for i, j in asm.excl:
        coul.addException(i, j, 0.0, 0.1, 0.0)
        lj.addExclusion(i, j)
    for i, j in asm.pairs14:
        s_ij = np.sqrt(sig[i] * sig[j]) * A_TO_NM
        e_ij = np.sqrt(eps[i] * eps[j])
        coul.addException(i, j, SCALE_14_COULOMB * charges[i] * charges[j], s_ij, SCALE_14_LJ * e_ij)
        lj.addExclusion(i, j)
    return coul, lj


def _set_nonbonded_methods(mm, coul, lj, nonbonded: str, cutoff_A: float, ewald_tolerance: float, lj_tail: bool,
                           lj_switch_width_A: float = 0.0) -> None:
    """Cutoff (Å -> nm) and method of the Coulomb and LJ forces; LJ tail correction only when periodic;
    LJ switched to zero between cutoff - ``lj_switch_width_A`` and the cutoff when the width is > 0."""
    periodic = nonbonded in ("pme", "cutoff_periodic")
    rc = cutoff_A * A_TO_NM
    if nonbonded == "pme":
        coul.setNonbondedMethod(mm.NonbondedForce.PME)
        coul.setEwaldErrorTolerance(ewald_tolerance)
    elif nonbonded == "cutoff_periodic":
        coul.setNonbondedMethod(mm.NonbondedForce.CutoffPeriodic)
    elif nonbonded == "cutoff_nonperiodic":
        coul.setNonbondedMethod(mm.NonbondedForce.CutoffNonPeriodic)
    else:
        coul.setNonbondedMethod(mm.NonbondedForce.NoCutoff)
    coul.setCutoffDistance(rc)
    coul.setUseDispersionCorrection(False)
    if periodic:
        coul.setExceptionsUsePeriodicBoundaryConditions(True)
        lj.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
        lj.setUseLongRangeCorrection(bool(lj_tail))
    elif nonbonded == "cutoff_nonperiodic":
        lj.setNonbondedMethod(mm.CustomNonbondedForce.CutoffNonPeriodic)
    else:
        lj.setNonbondedMethod(mm.CustomNonbondedForce.NoCutoff)
    lj.setCutoffDistance(rc)
    switch = lj_switch_width_A > 0 and nonbonded != "nocutoff"
    lj.setUseSwitchingFunction(bool(switch))
    if switch:
        lj.setSwitchingDistance((cutoff_A - lj_switch_width_A) * A_TO_NM)


def _add_forces(system, forces: dict, periodic: bool) -> None:
    """Add ``forces`` (group name -> force) to ``system`` in :data:`GROUPS` order, each in its force group."""
    for g in ("bonds", "angles", "dihedrals", "impropers", "coulomb", "lj"):
        f = forces[g]
        f.setForceGroup(GROUPS[g])
        if periodic and hasattr(f, "setUsesPeriodicBoundaryConditions"):
            f.setUsesPeriodicBoundaryConditions(True)
        system.addForce(f)


def build_system(
    atoms,
    templates: dict[str, MoleculeTemplate],
    charge_scale: float = 1.0,
    cutoff_A: float = 12.0,
    constraints: str = "none",
    nonbonded: Nonbonded = "pme",
    ewald_tolerance: float = 1e-5,
    lj_tail: bool = True,
    lj_switch_width_A: float = 1.0,
):
    """OpenMM System for ``atoms`` (ase.Atoms with mol_id/mol_species) and its :class:`SystemInfo`.

    ``constraints``: ``none``; ``hbonds`` (bonds to H fixed at r0); ``cons`` (bonds marked ``cons``
    in the force-field file). ``nonbonded``: ``pme`` (production), ``cutoff_periodic`` (reaction
    field, for tests), ``cutoff_nonperiodic`` / ``nocutoff`` (isolated molecules, plain Coulomb).
    ``lj_switch_width_A`` (Å, 0 <= width < cutoff): LJ switching interval below the cutoff (module doc);
    ``lj_tail``: LJ long-range correction. Defaults are those of
    :class:`ilforge.forcefields.settings.ForceFieldSettings` (whose ``system_options`` gives all of them).
    """
    mm = require("openmm", "classical")
    if constraints not in ("none", "hbonds", "cons"):
        raise IlforgeError(f"constraints must be none, hbonds or cons, got {constraints!r}")
    if not 0.0 <= lj_switch_width_A < cutoff_A:
        raise IlforgeError(
            f"forcefield.lj_switch_width_A = {lj_switch_width_A} Å must be >= 0 and smaller than the cutoff "
            f"({cutoff_A} Å); use e.g. 1.0 (or 0 for a plain cut)"
        )
    periodic = nonbonded in ("pme", "cutoff_periodic")
    mols = molecules_of(atoms)
    n = len(atoms)
    symbols = atoms.get_chemical_symbols()

    system = mm.System()
    asm = _Assembly.empty(mm, n)
    for sp, idx in mols:
        _add_molecule(asm, _template_for(sp, idx, templates, symbols), idx, charge_scale, constraints)

    for m in asm.masses:
        system.addParticle(m)
    for i, j, d in asm.cons_list:
        system.addConstraint(i, j, d)
    n_cons = len(asm.cons_list)

    if periodic:
        cell = np.asarray(atoms.cell[:]) * A_TO_NM
        system.setDefaultPeriodicBoxVectors(*[mm.Vec3(*row) for row in cell])

    coul, lj = _pair_forces(mm, asm)
    _set_nonbonded_methods(mm, coul, lj, nonbonded, cutoff_A, ewald_tolerance, lj_tail, lj_switch_width_A)
    forces = {"bonds": asm.bonds_f, "angles": asm.angles_f, "dihedrals": asm.dih_f, "impropers": asm.imp_f,
              "coulomb": coul, "lj": lj}
    _add_forces(system, forces, periodic)
    if periodic:
        _check_cutoff(atoms, cutoff_A)
    ff = "+".join(sorted(asm.ffname))
    counts = Counter(sp for sp, _ in mols)
    log.info("built OpenMM system (%s): %d atoms, molecules %s, %d constraints", ff, n, dict(counts), n_cons)
    info = SystemInfo(asm.types, asm.charges, mols, ff, n_cons)
    return system, info


def _check_cutoff(atoms, cutoff_A: float) -> None:
    """The minimum-image convention needs every perpendicular box width >= 2 x cutoff."""
    cell = np.asarray(atoms.cell[:])
    vol = abs(np.linalg.det(cell))
    widths = [vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    if min(widths) < 2 * cutoff_A:
        raise IlforgeError(
            f"the box is {min(widths):.1f} Å wide but the cutoff is {cutoff_A} Å; the box must be at least "
            f"twice the cutoff: use a bigger box (box.formula_units) or a smaller forcefield.cutoff_A"
        )


def positions_nm(atoms) -> np.ndarray:
    """Positions in nm (ase.Atoms stores Å)."""
    return np.asarray(atoms.positions) * A_TO_NM


def box_vectors_nm(cell_A: np.ndarray):
    """OpenMM box vectors (nm) from a cell in Å (rows a, b, c, in OpenMM's reduced lower-triangular form)."""
    mm = require("openmm", "classical")
    cell = np.asarray(cell_A) * A_TO_NM
    return [mm.Vec3(*row) for row in cell]
