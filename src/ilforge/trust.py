"""The trust boundary: a recipe is data; code or commands it names run only when the user opts in.

A recipe can name things that run as the user: a Python object to import (the ``ase`` labeler's
``calculator: "module:attr"``), a command line (``espresso``'s ``command``) or raw input with
preprocessor directives that read other files (CP2K ``extra_input`` with ``@INCLUDE``). ilforge
refuses these unless the user opts in, because a recipe is often someone else's file. The opt-in
is one environment setting, read here and nowhere else:

    ILFORGE_ALLOW_RECIPE_CODE=1      (the CLI's ``--allow-recipe-code`` sets it for its process)

Workers started by ilforge inherit it (local pools; Dask clusters ilforge starts get it in their
environment or job script). When allowed, what will be imported or run is logged once per process
at WARNING level, so it shows on the terminal. See docs/security.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import threading

from ilforge.labels import LabelError

log = logging.getLogger(__name__)

#: the environment variable of the opt-in (values 1/true/yes/on allow)
ENV_VAR = "ILFORGE_ALLOW_RECIPE_CODE"
#: the command-line flag that sets it (for messages)
CLI_FLAG = "--allow-recipe-code"
_TRUE = {"1", "true", "yes", "on"}

_announced: set[str] = set()
_describing = threading.local()


class RecipeCodeRefused(LabelError):
    """A recipe names code or a command to run and the user has not opted in (an
    :class:`~ilforge.errors.IlforgeError`; a :class:`LabelError` that no retry can fix, so a worker
    without the opt-in records it as such)."""

    def __init__(self, reason: str):
        super().__init__(reason, retryable=False)


def recipe_code_allowed() -> bool:
    """Whether the user opted in to code and commands named in recipes (:data:`ENV_VAR`)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in _TRUE


def allow_recipe_code(allowed: bool = True) -> None:
    """Set the opt-in for this process and the workers it starts (what ``--allow-recipe-code`` does)."""
    if allowed:
        os.environ[ENV_VAR] = "1"
    else:
        os.environ.pop(ENV_VAR, None)


def worker_environment() -> dict[str, str]:
    """The opt-in as environment entries for workers started elsewhere (empty when not given)."""
    return {ENV_VAR: "1"} if recipe_code_allowed() else {}


@contextlib.contextmanager
def describing():
    """Within this block labelers are only described (level of theory), never run: checks pass and
    nothing is imported or executed. For code that needs a labeler's name, not its labels."""
    previous = getattr(_describing, "on", False)
    _describing.on = True
    try:
        yield
    finally:
        _describing.on = previous


def is_describing() -> bool:
    """Whether this thread is inside :func:`describing`."""
    return bool(getattr(_describing, "on", False))


def require_recipe_code(field: str, what: str) -> None:
    """Refuse (:class:`RecipeCodeRefused`) unless the user opted in; when allowed, log ``what`` once.

    ``field``: where the recipe names it (``labels.options.calculator``); ``what``: exactly what will
    be imported or run (``import os:system and call it``)."""
    if is_describing():
        return
    if not recipe_code_allowed():
        raise RecipeCodeRefused(
            f"{field}: the recipe asks to {what}. A recipe is data; running code or commands named in it "
            f"needs your opt-in: if you trust this recipe, pass {CLI_FLAG} (or set {ENV_VAR}=1). "
            "See docs/security.md."
        )
    announce(f"{field}: {what}")


def announce(message: str) -> None:
    """Log ``message`` once per process (WARNING, so that the terminal shows it)."""
    if message not in _announced:
        _announced.add(message)
        log.warning("recipe code allowed (%s=1): %s", ENV_VAR, message)


def command_argv(command, allowed: set[tuple[str, ...]], program: str, example: str) -> list[str]:
    """A recipe's ``labels.options.command`` as an argument list (a string is split as a POSIX shell
    splits words, without running a shell). ``allowed``: the argument lists that run without the
    opt-in (the plain program names); anything else is recipe code (:func:`require_recipe_code`).
    ``program`` names what the command is (e.g. "the CP2K shell"), ``example`` a plain command."""
    try:
        argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    except ValueError as exc:
        raise LabelError(f"labels.options.command: cannot split {command!r}: {exc}", retryable=False) from None
    if not argv:
        raise LabelError(f"labels.options.command is empty; give {program}, e.g. {example!r}", retryable=False)
    if tuple(argv) not in allowed:
        require_recipe_code("labels.options.command", f"run the program {argv[0]!r} with arguments "
                            f"{argv[1:]} (argument list, no shell) as {program}")
    return argv
