"""The classical force field as a cheap reference method (CL&P or the generic force field via OpenMM).

Energy (eV) and forces (eV/Å) come straight from OpenMM (PME Coulomb, LJ with tail correction;
see :mod:`ilforge.forcefields.openmm_system`); no bond is constrained.

Stress (eV/Å³, ASE convention, Voigt xx yy zz yz xz xy) is the strain derivative of the energy,
σ_ab = (1/V) ∂E/∂ε_ab, obtained by central finite differences of the energy under small
homogeneous symmetric strains ε (every atom moved with the cell: the *atomic* virial, as MLIP
and ASE stresses), step ``strain_step``. Off-diagonal strains are applied symmetrically
(ε_ab = ε_ba = δ), so σ_ab = [E(+δ) - E(-δ)] / (2δ) / (2V). The strained cell is rotated into
OpenMM's reduced (lower-triangular) form, which leaves the energy unchanged. This derivative
includes every volume dependence of the energy: PME reciprocal space and the LJ long-range
correction. Cost: 12 extra energy evaluations per frame. OpenMM's Reference platform (double
precision) is the default; with the mixed-precision CPU platform use ``strain_step`` >= 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import logging

import numpy as np
from ase import Atoms

from ilforge import keys, units
from ilforge.errors import IlforgeError, require
from ilforge.forcefields.openmm_system import box_vectors_nm, build_system
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
        ewald_tolerance: float = 1e-6,
        platform: str = "Reference",
        strain_step: float = 1e-5,
        compute_stress: bool = True,
    ):
        self.templates = templates
        self.charge_scale = charge_scale
        self.cutoff_A = cutoff_A
        self.ewald_tolerance = ewald_tolerance
        self.platform = platform
        self.strain_step = strain_step
        self.compute_stress = compute_stress
        self.level_of_theory = f"classical:{forcefield_name};cutoff={cutoff_A:g}A"
        self._contexts: dict = {}

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
        return cls(templates, forcefield_name(ff), charge_scale=ff.charge_scale, cutoff_A=ff.cutoff_A, **kwargs)

    @classmethod
    def from_recipe(cls, recipe, cache_dir=None, **kwargs) -> "ClassicalLabeler":
        """Labeler with the recipe's force field (``forcefield`` section) for all of the recipe's species."""
        return cls.from_context(cls.recipe_context(recipe), cache_dir=cache_dir, **kwargs)

    @classmethod
    def from_settings(cls, settings, context=None, cache_dir=None) -> "ClassicalLabeler":
        """The registry's hook (``labels: {labeler: classical, options: {...}}``): the force field of
        ``context`` (a recipe, or its :meth:`recipe_context`), generic-force-field parameters cached
        in ``cache_dir`` (the project's ``cache/generic_ff``, shared with ``ilforge sample``), and
        ``options`` passed on (e.g. ``strain_step``, ``compute_stress``, ``platform``)."""
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

    def label(self, atoms: Atoms) -> Labels:
        """Energy (eV), forces (eV/Å), stress (eV/Å³, periodic frames) of ``atoms``."""
        if keys.MOL_ID not in atoms.arrays or keys.MOL_SPECIES not in atoms.arrays:
            raise LabelError(f"frame has no {keys.MOL_ID}/{keys.MOL_SPECIES} arrays: the classical labeler needs molecules", retryable=False)
        try:
            ctx, periodic = self._context(atoms)
        except IlforgeError as exc:
            raise LabelError(str(exc), retryable=False) from None
        pos = atoms.positions.copy()
        cell = None
        rot = np.eye(3)
        if periodic:
            cell, rot = reduced_cell(atoms.cell[:])
            pos = pos @ rot
        e, f = self._energy_kj(ctx, pos, cell, forces=True)
        forces = f * FORCE_KJ_MOL_NM_TO_EV_A @ rot.T  # back to the frame's orientation
        stress = None
        if periodic and self.compute_stress:
            stress = self.stress(atoms)
        return Labels(energy=e * units.KJ_MOL, forces=forces, stress=stress)

    def stress(self, atoms: Atoms) -> np.ndarray:
        """σ = (1/V) ∂E/∂ε by central differences of the energy under symmetric strain (Voigt, eV/Å³)."""
        ctx, _ = self._context(atoms)
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
