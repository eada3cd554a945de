"""Parametrising tests over MLIP backends: a backend that lives in its own environment (its module's
``ENV``: nequip and allegro share ``nequip``) is marked ``backends`` and skipped, saying how to create
the environment, until that environment is ready. With ``$ILFORGE_TEST_BACKENDS_REQUIRED`` set
(`make test-backends`, hence CI) nothing is skipped: a missing environment fails the test."""

import os
import sys

import pytest

from ilforge.envs.manager import is_ready
from ilforge.models.registry import backend_class


def backend_env(name: str) -> str | None:
    """The environment backend ``name`` runs in (None: ilforge's own, e.g. MACE)."""
    return getattr(sys.modules[backend_class(name).__module__], "ENV", None)


REQUIRED_VAR = "ILFORGE_TEST_BACKENDS_REQUIRED"


def needs_env(env: str) -> list:
    """The marks of a test that runs in environment ``env``: ``backends``, and a skip while the environment
    is not created (none when ``$ILFORGE_TEST_BACKENDS_REQUIRED`` is set)."""
    return [pytest.mark.backends, pytest.mark.skipif(
        not is_ready(env) and not os.environ.get(REQUIRED_VAR),
        reason=f"the {env} environment is not created: run `ilforge env create {env}` (or `make test-backends`)")]


def backend_param(name: str):
    """``name`` as a pytest parameter, with :func:`needs_env`'s marks when it needs an environment."""
    env = backend_env(name)
    if env is None:
        return name
    return pytest.param(name, marks=needs_env(env))


