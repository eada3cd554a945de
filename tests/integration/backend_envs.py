"""Parametrising tests over MLIP backends: a backend that lives in its own environment (its module's
``ENV``: nequip and allegro share ``nequip``) is marked ``backends`` and skipped, saying how to create
the environment, until that environment is ready."""

import sys

import pytest

from ilforge.envs.manager import is_ready
from ilforge.models.registry import backend_class


def backend_env(name: str) -> str | None:
    """The environment backend ``name`` runs in (None: ilforge's own, e.g. MACE)."""
    return getattr(sys.modules[backend_class(name).__module__], "ENV", None)


def backend_param(name: str):
    """``name`` as a pytest parameter, with the ``backends`` mark and the skip when it needs an environment."""
    env = backend_env(name)
    if env is None:
        return name
    return pytest.param(name, marks=[pytest.mark.backends, pytest.mark.skipif(
        not is_ready(env), reason=f"the {env} environment is not created: run `ilforge env create {env}` (or `make test-backends`)")])


