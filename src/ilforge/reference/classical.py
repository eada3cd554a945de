"""The classical force field as a cheap reference method (CL&P or the generic force field via OpenMM).

Energy (eV) and forces (eV/Å) come straight from OpenMM (PME Coulomb, LJ switched smoothly to zero
over the last ``lj_switch_width_A`` before the cutoff, with the long-range correction; see
:mod:`ilforge.forcefields.openmm_system`); no bond is constrained. The non-bonded settings are the
recipe's (:meth:`ForceFieldSettings.system_options`, the same the sampler uses) and are all in the
level of theory, e.g. ``classical:CL&P(q*0.8);cutoff=12A;switch=1A;ewald=1e-05;tail=on``.

Atom order: each molecule of a frame is mapped onto its species' template by graph isomorphism
(:class:`ilforge.forcefields.matching.TemplateMapper`: bonds from the geometry, elements as labels),
so its atoms may come in any order; forces are returned in the caller's order. A molecule that
cannot be mapped (broken, wrong species) raises :class:`LabelError` naming it.

Stress (eV/Å³, ASE convention, Voigt xx yy zz yz xz xy) is the strain derivative of the energy,
σ_ab = (1/V) ∂E/∂ε_ab, obtained by central finite differences of the energy under small
homogeneous symmetric strains ε (every atom moved with the cell: the *atomic* virial, as MLIP
and ASE stresses), step ``strain_step``. Off-diagonal strains are applied symmetrically
(ε_ab = ε_ba = δ), so σ_ab = [E(+δ) - E(-δ)] / (2δ) / (2V). The strained cell is rotated into
OpenMM's reduced (lower-triangular) form, which leaves the energy unchanged. This derivative
includes every volume dependence of the energy: PME reciprocal space and the LJ long-range
correction. It is -∂E/∂ε of a smooth energy only because the LJ is switched (a plain cut makes
E jump by u(r_c) whenever a pair crosses the cutoff, and the difference quotient then depends on
the step: on the 96-atom EMIM-BF4 box of tests/data at a 4.5 Å cutoff, +4.50, +4.47 and +4.24 GPa for
steps 1e-5, 1e-4 and 1e-3; switched, +4.284 GPa for all three); a switch width of 0 is therefore
refused when stress is asked for. Cost: 12 extra energy evaluations per frame. OpenMM's Reference platform (double
precision) is the default; with the mixed-precision CPU platform use ``strain_step`` >= 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import logging

import numpy as np
from ase import Atoms

from ilforge import keys, units
from ilforge.errors import IlforgeError, require
from ilforge.forcefields.matching import TemplateMapper
from ilforge.forcefields.openmm_system import box_vectors_nm, build_system, molecules_of
from ilforge.forcefields.settings import nonbonded_tag
from ilforge.forcefields.template import MoleculeTemplate
from ilforge.labels import LabelError, Labels
from ilforge.reference.base import Labeler

log = logging.getLogger(__name__)

#: kJ/mol/nm -> eV/Å
FORCE_KJ_MOL_NM_TO_EV_A = units.KJ_MOL * units.A_TO_NM

_VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def reduced_cell(cell_A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a cell (rows a, b, c) into OpenMM's lower-triangular form: (new cell, rotation R) with
    new_cell = cell @ R and positions transformed the same way (r' = r @ R)."""
    q, r = np.linalg.qr(np.asarray(cell_A, dtype=float).T)
    s = np.sign(np.diag(r))
    s[s == 0] = 1.0
    q = q * s  # make diag(R) positive: cell.T = (Q S)(S R)
    new = np.asarray(cell_A) @ q
    new[np.abs(new) < 1e-12] = 0.0
    return new, q


class ClassicalLabeler(Labeler):
    """Labels from a classical force field. ``templates``: species -> :class:`MoleculeTemplate`."""

    def __init__(
        self,
        templates: dict[str, MoleculeTemplate],
        forcefield_name: str,
        charge_scale: float = 1.0,
        cutoff_A: float = 12.0,
        ewald_tolerance: float = 1e-5,
        lj_tail: bool = True,
        lj_switch_width_A: float = 1.0,
        platform: str = "Reference",
        strain_step: float = 1e-5,
        compute_stress: bool = True,
    ):
        if compute_stress and lj_switch_width_A <= 0:
            raise IlforgeError(
                "the classical labeler's stress needs a smooth energy: forcefield.lj_switch_width_A = 0 cuts "
                "the LJ without switching, so the energy jumps when pairs cross the cutoff; set "
                "lj_switch_width_A > 0 (default 1.0 Å) or label without stress (options: {compute_stress: false})"
            )
        self.templates = templates
        self.charge_scale = charge_scale
        self.cutoff_A = cutoff_A
        self.ewald_tolerance = ewald_tolerance
        self.lj_tail = bool(lj_tail)
        self.lj_switch_width_A = lj_switch_width_A
        self.platform = platform
        self.strain_step = strain_step
        self.compute_stress = compute_stress
        tag = nonbonded_tag(cutoff_A, lj_switch_width_A, ewald_tolerance, self.lj_tail)
        self.level_of_theory = f"classical:{forcefield_name};{tag}"
        self._contexts: dict = {}
        self._mapper = TemplateMapper(templates)

    @staticmethod
    def recipe_context(recipe) -> dict:
        """What this labeler takes from a recipe, as plain data (so a worker builds it without the
        recipe): the ``forcefield`` settings, the seed, and every species of the recipe's
        compositions (name, SMILES, formal charge, kind, aliases, CL&P name)."""
        lib = recipe.library()
        names = sorted({s for c in recipe.resolve_compositions(lib) for s in c.counts})
        species = [lib.get(n) for n in names]
        return {"forcefield": recipe.forcefield.model_dump(mode="json"), "seed": int(recipe.seed),
                "species": [{"name": sp.name, "smiles": sp.smiles, "charge": sp.charge, "kind": sp.kind,
                             "aliases": list(sp.aliases), "clandp": sp.clandp} for sp in species]}

    @classmethod
    def from_context(cls, context: dict, cache_dir=None, **kwargs) -> "ClassicalLabeler":
        """Labeler with the force field of a :meth:`recipe_context` for its species."""
        from ilforge.chem.species import SpeciesLibrary, make_species
        from ilforge.forcefields.assign import forcefield_name, templates_for
        from ilforge.forcefields.settings import ForceFieldSettings

        lib = SpeciesLibrary([make_species(**d) for d in context["species"]])
        ff = ForceFieldSettings.model_validate(context["forcefield"])
        templates = templates_for([d["name"] for d in context["species"]], lib, ff, cache_dir=cache_dir,
                                  seed=context["seed"])
        return cls(templates, forcefield_name(ff), **{**ff.system_options(), **kwargs})

    @classmethod
    def from_recipe(cls, recipe, cache_dir=None, **kwargs) -> "ClassicalLabeler":
        """Labeler with the recipe's force field (``forcefield`` section) for all of the recipe's species."""
        return cls.from_context(cls.recipe_context(recipe), cache_dir=cache_dir, **kwargs)

    @classmethod
    def from_settings(cls, settings, context=None, cache_dir=None) -> "ClassicalLabeler":
        """The registry's hook (``labels: {labeler: classical, options: {...}}``): the force field of
        ``context`` (a recipe, or its :meth:`recipe_context`), generic-force-field parameters cached
        in ``cache_dir`` (the project's ``cache/generic_ff``, shared with ``ilforge sample``), and
        ``options`` passed on (e.g. ``strain_step``, ``compute_stress``, ``platform``; a force-field
        setting given here, e.g. ``cutoff_A``, overrides the recipe's and shows in the level of theory)."""
        if context is None:
            raise LabelError("the classical labeler needs the recipe (its forcefield section)", retryable=False)
        if not isinstance(context, dict):
            context = cls.recipe_context(context)
        return cls.from_context(context, cache_dir=Path(cache_dir) if cache_dir is not None else None,
                                **dict(settings.options))

    def isolated_energy(self, symbol_or_atoms, charge: int = 0, spin_multiplicity: int | None = None) -> float:
        """0 eV for an isolated atom: a lone atom has no bonded terms and no pair partners, so its
        force-field energy is exactly zero (the classical E0 of every element). Isolated molecular
        ions are not provided."""
        n = 1 if isinstance(symbol_or_atoms, str) else len(symbol_or_atoms)
        if n != 1:
            raise NotImplementedError("the classical labeler gives isolated-atom energies only")
        return 0.0

    def _context(self, atoms: Atoms):
        mm = require("openmm", "classical")
        periodic = bool(np.all(atoms.pbc))
        key = (periodic, tuple(np.asarray(atoms.arrays[keys.MOL_SPECIES]).tolist()), tuple(np.asarray(atoms.arrays[keys.MOL_ID]).tolist()))
        if key not in self._contexts:
            system, _ = build_system(
                atoms,
                self.templates,
                charge_scale=self.charge_scale,
                cutoff_A=self.cutoff_A,
                constraints="none",
                nonbonded="pme" if periodic else "nocutoff",
                ewald_tolerance=self.ewald_tolerance,
                lj_tail=self.lj_tail,
                lj_switch_width_A=self.lj_switch_width_A,
            )
            integ = mm.VerletIntegrator(0.001)
            plat = mm.Platform.getPlatformByName(self.platform)
            self._contexts = {key: mm.Context(system, integ, plat)}  # keep one context: frames come in batches
        return self._contexts[key], periodic

    @staticmethod
    def _set(ctx, positions_A: np.ndarray, cell_A: np.ndarray | None):
        if cell_A is not None:
            ctx.setPeriodicBoxVectors(*box_vectors_nm(cell_A))
        ctx.setPositions(np.asarray(positions_A) * units.A_TO_NM)

    def _energy_kj(self, ctx, positions_A, cell_A, forces=False):
        self._set(ctx, positions_A, cell_A)
        st = ctx.getState(getEnergy=True, getForces=forces)
        e = st.getPotentialEnergy()._value
        f = np.asarray(st.getForces(asNumpy=True)._value) if forces else None
        return e, f

    def in_template_order(self, atoms: Atoms) -> tuple[Atoms, np.ndarray]:
        """``(internal, order)``: ``internal = atoms[order]`` has every molecule's atoms in its species'
        template order (:class:`TemplateMapper`); a quantity per atom of ``internal`` is returned to the
        caller's order by ``out[order] = value``. Raises :class:`LabelError` naming an unmappable molecule."""
        if keys.MOL_ID not in atoms.arrays or keys.MOL_SPECIES not in atoms.arrays:
            raise LabelError(f"frame has no {keys.MOL_ID}/{keys.MOL_SPECIES} arrays: the classical labeler needs molecules", retryable=False)
        try:
            order = self._mapper.order(atoms, molecules_of(atoms))
        except IlforgeError as exc:
            raise LabelError(f"classical labeler: {exc}", retryable=False) from None
        if np.array_equal(order, np.arange(len(atoms))):
            return atoms, order
        return atoms[order], order

    def label(self, atoms: Atoms) -> Labels:
        """Energy (eV), forces (eV/Å, in the order of ``atoms``), stress (eV/Å³, periodic frames) of ``atoms``."""
        internal, order = self.in_template_order(atoms)
        try:
            ctx, periodic = self._context(internal)
        except IlforgeError as exc:
            raise LabelError(str(exc), retryable=False) from None
        pos = internal.positions.copy()
        cell = None
        rot = np.eye(3)
        if periodic:
            cell, rot = reduced_cell(internal.cell[:])
            pos = pos @ rot
        e, f = self._energy_kj(ctx, pos, cell, forces=True)
        forces = np.empty_like(f)
        forces[order] = f * FORCE_KJ_MOL_NM_TO_EV_A @ rot.T  # back to the frame's orientation and atom order
        stress = None
        if periodic and self.compute_stress:
            stress = self._stress(ctx, internal)
        return Labels(energy=e * units.KJ_MOL, forces=forces, stress=stress)

    def stress(self, atoms: Atoms) -> np.ndarray:
        """σ = (1/V) ∂E/∂ε by central differences of the energy under symmetric strain (Voigt, eV/Å³)."""
        internal, _ = self.in_template_order(atoms)
        ctx, _ = self._context(internal)
        return self._stress(ctx, internal)

    def _stress(self, ctx, atoms: Atoms) -> np.ndarray:
        """σ_ab = (1/V) [E(+δ) - E(-δ)] / (2δ) (diagonal; /(2V) off-diagonal), Voigt, eV/Å³, on ``ctx``."""
        cell0 = np.asarray(atoms.cell[:])
        pos0 = atoms.positions
        vol = abs(np.linalg.det(cell0))
        d = self.strain_step
        out = np.zeros(6)
        for v, (a, b) in enumerate(_VOIGT):
            es = []
            for sgn in (1.0, -1.0):
                eps = np.zeros((3, 3))
                eps[a, b] += sgn * d
                if a != b:
                    eps[b, a] += sgn * d
                deform = np.eye(3) + eps
                cell = cell0 @ deform.T
                pos = pos0 @ deform.T
                rcell, rot = reduced_cell(cell)
                es.append(self._energy_kj(ctx, pos @ rot, rcell)[0])
            de = (es[0] - es[1]) / (2 * d) * units.KJ_MOL
            out[v] = de / vol if a == b else de / (2 * vol)
        return out
