"""Labeler names of the recipe (``labels.labeler``) -> labeler classes, imported lazily.

A labeler is built with :func:`make_labeler`: when its class defines
``from_settings(settings, recipe, cache_dir)`` (a classmethod) that is used (the classical labeler
needs the recipe's force field: :func:`needs_recipe`); otherwise ``cls(method=..., **options)``
when ``method`` is set, else ``cls(**options)``. With ``labels.dispersion`` set (d3bj, d3zero)
the labeler is wrapped in :class:`ilforge.reference.dispersion.D3Labeler` (refused where the
method already includes dispersion).
"""

from __future__ import annotations

import importlib
import inspect

from ilforge.errors import IlforgeError, RecipeError
from ilforge.reference.base import Labeler

#: name -> "module:Class"
LABELERS = {
    "xtb": "ilforge.reference.xtb:XTBLabeler",
    "cp2k": "ilforge.reference.cp2k:CP2KLabeler",
    "espresso": "ilforge.reference.espresso:EspressoLabeler",
    "ase": "ilforge.reference.ase_calc:ASECalculatorLabeler",
    "classical": "ilforge.reference.classical:ClassicalLabeler",
    "sevennet": "ilforge.reference.sevennet:SevenNetLabeler",
}


def labeler_class(name: str) -> type[Labeler]:
    """The class registered under ``name``. For a module without the named class, the one
    :class:`Labeler` subclass the module defines is used."""
    try:
        path = LABELERS[name]
    except KeyError:
        raise RecipeError(f"labels.labeler: unknown labeler {name!r}; choose one of {sorted(LABELERS)}") from None
    mod_name, cls_name = path.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name == mod_name:
            raise IlforgeError(f"labeler {name!r} ({mod_name}) is not available in this installation") from None
        raise
    cls = getattr(mod, cls_name, None)
    if cls is None:
        found = [c for _, c in inspect.getmembers(mod, inspect.isclass)
                 if issubclass(c, Labeler) and c is not Labeler and c.__module__ == mod_name]
        if len(found) != 1:
            raise IlforgeError(f"{mod_name} defines {len(found)} labeler classes; expected {cls_name}")
        cls = found[0]
    return cls


def needs_recipe(name: str) -> bool:
    """Whether the labeler registered under ``name`` is built from the recipe (``from_settings``)."""
    return hasattr(labeler_class(name), "from_settings")


def make_labeler(settings, recipe=None, cache_dir=None) -> Labeler:
    """Build the labeler of ``settings`` (a :class:`LabelSettings`); ``recipe`` (the recipe, or the
    labeler's ``recipe_context`` of it as plain data) and ``cache_dir`` (a directory for
    rebuildable parameters) for labelers built from the recipe."""
    from ilforge.reference.dispersion import with_dispersion

    return with_dispersion(_make_bare(settings, recipe, cache_dir), settings)


def _make_bare(settings, recipe=None, cache_dir=None) -> Labeler:
    """The labeler of ``settings`` without added dispersion."""
    cls = labeler_class(settings.labeler)
    if hasattr(cls, "from_settings"):
        return cls.from_settings(settings, recipe, cache_dir)
    kwargs = dict(settings.options)
    if settings.method is not None:
        kwargs["method"] = settings.method
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        params = [p for p in inspect.signature(cls).parameters if p not in ("self", "kwargs")]
        raise RecipeError(
            f"labels.options: {exc} for labeler {settings.labeler!r}; accepted settings: {params}"
        ) from None
    return cls(**kwargs)
