"""Pick the force field of each species from the recipe's ``forcefield`` settings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ilforge.chem.species import SpeciesLibrary
from ilforge.errors import RecipeError
from ilforge.forcefields.settings import ForceFieldSettings
from ilforge.forcefields.template import MoleculeTemplate


def forcefield_name(settings: ForceFieldSettings) -> str:
    """Name recorded with sampled frames and in the classical labeler's level of theory."""
    if settings.type == "clandp":
        return f"CL&P(q*{settings.charge_scale:g})"
    return f"generic-UFF-{settings.generic_method}(q*{settings.charge_scale:g})"


def templates_for(
    species: Iterable[str],
    library: SpeciesLibrary,
    settings: ForceFieldSettings,
    cache_dir: Path | None = None,
    seed: int = 0,
) -> dict[str, MoleculeTemplate]:
    """A :class:`MoleculeTemplate` per species name (unscaled charges)."""
    out: dict[str, MoleculeTemplate] = {}
    for name in species:
        sp = library.get(name)
        if settings.type == "clandp":
            if settings.path is None:
                raise RecipeError(
                    "forcefield.path: required for forcefield.type clandp: the directory holding il.ff and the "
                    "molecule files (e.g. a clone of github.com/paduagroup/clandp)"
                )
            from ilforge.forcefields.clandp import clandp_template

            out[sp.name] = clandp_template(sp, Path(settings.path).expanduser(), settings.molecule_files)
        else:
            from ilforge.forcefields.generic import generic_template

            out[sp.name] = generic_template(sp, settings.generic_method, cache_dir, seed)
    return out
