"""Pick the force field of each species from the recipe's ``forcefield`` settings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ilforge.chem.species import SpeciesLibrary
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
            from ilforge.forcefields.clandp import clandp_template

            directory = Path(settings.path).expanduser() if settings.path is not None else None  # None: shipped copy
            out[sp.name] = clandp_template(sp, directory, settings.molecule_files)
        else:
            from ilforge.forcefields.generic import generic_template

            out[sp.name] = generic_template(sp, settings.generic_method, cache_dir, seed)
    return out
