"""The CLI boundary: any exception becomes one line for the user and an exit code (docs/errors.md).

An :class:`~ilforge.errors.IlforgeError` carries its own message and exit code. Failures the user
can cause but that surface as library exceptions (a pydantic ``ValidationError`` from a command-line
override, an unreadable or corrupt file, a file that is not UTF-8, a corrupt SQLite database or
pickled model) are mapped here to a message naming the problem and the fix, with exit code 2.
Anything else is an internal error (exit code 1).
"""

from __future__ import annotations

import json
import pickle
import sqlite3

from ilforge.errors import EXIT_INPUT, EXIT_INTERNAL, IlforgeError


def _validation_message(exc) -> str:
    lines = [f"invalid setting ({exc.title}):"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(value)"
        lines.append(f"  {loc}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})")
    return "\n".join(lines) + "\ncheck the command-line option or recipe field named above"


def _os_message(exc: OSError) -> str:
    if exc.filename is None and exc.errno is None:  # a reader's format error (e.g. ase's XYZError)
        return f"a file could not be read ({type(exc).__name__}: {exc}); check that it is complete and in the expected format"
    where = exc.filename if exc.filename is not None else "a file"
    what = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        fix = "check its permissions or choose another path"
    elif isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        fix = "check the path (its folder must exist)"
    elif isinstance(exc, IsADirectoryError):
        fix = "give a file, not a directory"
    else:
        fix = "check the path, free disk space and permissions"
    return f"{where}: {what}; {fix}"


def _mapped(exc: BaseException) -> str | None:
    """A user-facing message for a known library exception, or None when it is a bug."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return _validation_message(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        return (f"a database file (the frame store, WORKDIR/frames.db) is corrupt or not SQLite ({exc}); "
                f"restore it from a backup, or move it away and rerun `ilforge sample` and `ilforge label`")
    if isinstance(exc, UnicodeDecodeError):
        return (f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}); give a text file "
                f"(YAML, JSON or extxyz), not a binary one")
    if isinstance(exc, json.JSONDecodeError):
        return f"a JSON file is corrupt ({exc}); delete it and rerun the step that writes it"
    if isinstance(exc, (pickle.UnpicklingError, EOFError)):
        return (f"a model or data file is truncated or not what it claims to be ({type(exc).__name__}: {exc}); "
                f"retrain the model or copy the file again")
    if isinstance(exc, OSError):
        return _os_message(exc)
    return None


def exit_code(exc: BaseException) -> int:
    """The exit status for ``exc`` (see the module docstring)."""
    if isinstance(exc, IlforgeError):
        return int(getattr(exc, "exit_code", EXIT_INPUT))
    return EXIT_INPUT if _mapped(exc) is not None else EXIT_INTERNAL


def user_message(exc: BaseException) -> str:
    """One message for the user (several lines only when listing several invalid fields)."""
    if isinstance(exc, IlforgeError):
        return str(exc)
    return _mapped(exc) or str(exc) or type(exc).__name__
