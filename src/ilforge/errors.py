"""Exceptions of ilforge. Every message says what is wrong and how to fix it.

Exit codes of the ``ilforge`` command (docs/errors.md): :data:`EXIT_INPUT` for an error the user
can fix (an :class:`IlforgeError`), :data:`EXIT_MONITOR` when a run was stopped by a monitor,
:data:`EXIT_PARTIAL` when a batch finished with some items failed, :data:`EXIT_INTERNAL` for a bug.
"""

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_MONITOR = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130


class IlforgeError(Exception):
    """Base class: an error the user can act on (the CLI prints it without a traceback).

    ``exit_code`` is the exit status of the ``ilforge`` command that ends with it."""

    exit_code = EXIT_INPUT


class RecipeError(IlforgeError):
    """The recipe is invalid; the message names the field and the fix."""


class SpeciesError(IlforgeError):
    """A species is unknown or inconsistent (charge vs SMILES, bad SMILES)."""


class BuildError(IlforgeError):
    """A box could not be built (Packmol failed after retries, geometry could not be embedded)."""


class CorruptFileError(IlforgeError):
    """A file ilforge wrote earlier (store, results, state, cache) is unreadable; the message names it and the fix."""


class MissingDependencyError(IlforgeError):
    """An optional dependency is not installed; the message names the pip extra."""


def require(module: str, extra: str):
    """Import an optional heavy dependency lazily, or raise a clear error naming the extra.

    >>> np = require("numpy", "core")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module} is needed for this step but is not installed: "
            f"pip install 'ilforge[{extra}]' (or run `make setup`). ({exc})"
        ) from exc
