"""Exceptions of ilforge. Every message says what is wrong and how to fix it."""


class IlforgeError(Exception):
    """Base class: an error the user can act on (the CLI prints it without a traceback)."""


class RecipeError(IlforgeError):
    """The recipe is invalid; the message names the field and the fix."""


class SpeciesError(IlforgeError):
    """A species is unknown or inconsistent (charge vs SMILES, bad SMILES)."""


class BuildError(IlforgeError):
    """A box could not be built (Packmol failed after retries, geometry could not be embedded)."""


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
