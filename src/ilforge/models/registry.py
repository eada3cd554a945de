"""Backend names of the recipe (``training.backend``) -> backend classes, imported on demand.

The shape of :mod:`ilforge.reference.registry`: a backend is named by a ``"module:Class"``
string, so that listing the backends imports none of them (a backend's module may need heavy
optional dependencies, or live in another Python environment behind a file-described task).
A backend class names its settings class (``settings_class``), which validates the recipe's
``training:`` section for that backend.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ilforge.errors import IlforgeError

if TYPE_CHECKING:  # pragma: no cover
    from ilforge.models.base import Backend
    from ilforge.models.settings import TrainingSettings

#: name -> "module:Class"
BACKENDS: dict[str, str] = {
    "mace": "ilforge.models.mace_backend:MaceBackend",
    "deepmd": "ilforge.models.deepmd_backend:DeepmdBackend",
    "sevenn": "ilforge.models.sevenn_backend:SevennBackend",
    "nequip": "ilforge.models.nequip_backend:NequipBackend",
    "allegro": "ilforge.models.nequip_backend:AllegroBackend",
    "apax": "ilforge.models.apax_backend:ApaxBackend",
}
#: the backend of a recipe whose ``training:`` section names none
DEFAULT_BACKEND = "mace"


def backend_names() -> list[str]:
    """The registered backend names, sorted."""
    return sorted(BACKENDS)


def backend_class(name: str) -> type["Backend"]:
    """The class registered under ``name``; an unknown name is an error listing the available ones."""
    try:
        path = BACKENDS[name]
    except KeyError:
        raise IlforgeError(f"unknown MLIP backend {name!r}; available: {backend_names()}") from None
    module, cls_name = path.split(":")
    return getattr(importlib.import_module(module), cls_name)


def get_backend(name: str) -> "Backend":
    """An instance of the backend called ``name``."""
    return backend_class(name)()


def settings_class(name: str) -> type["TrainingSettings"]:
    """The settings class of backend ``name`` (a subclass of :class:`~ilforge.models.settings.TrainingSettings`)."""
    return backend_class(name).settings_class


def settings_from_dict(data: dict | None) -> "TrainingSettings":
    """Validate a ``training:`` mapping with the settings class of its ``backend`` (default
    :data:`DEFAULT_BACKEND`); raises pydantic's ``ValidationError`` for a bad field."""
    data = dict(data or {})
    return settings_class(str(data.get("backend", DEFAULT_BACKEND))).model_validate(data)


def apply_overrides(settings: "TrainingSettings", overrides: dict | None) -> "TrainingSettings":
    """``settings`` with ``overrides`` (key -> value) applied and validated again; a bad key or value
    is an :class:`IlforgeError` naming it."""
    from pydantic import ValidationError

    if not overrides:
        return settings
    data = settings.model_dump()
    data.update(overrides)
    try:
        return settings_from_dict(data)
    except ValidationError as exc:
        raise IlforgeError(f"invalid training setting: {exc}") from exc
