"""Argument types and checks shared by the verbs: bad values are refused while parsing (exit code 2),
before any work starts."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from ilforge.errors import IlforgeError


def positive_int(text: str) -> int:
    """An integer >= 1 (``--committee``, ``--max-epochs``, ``--workers``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; give an integer >= 1")
    return value


def fraction(text: str) -> float:
    """A fraction in [0, 1) (``--test-fraction``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a fraction such as 0.1") from None
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1); give e.g. 0.1 (10 %% of the frames)")
    return value


def int_list(text: str) -> list[int]:
    """Comma-separated integers >= 1, e.g. ``10,20,40`` (``--learning-curve``)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"{text!r} holds no numbers; give frame counts such as 10,20,40")
    try:
        values = [int(t) for t in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers; give frame counts such as 10,20,40") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: frame counts must be >= 1, e.g. 10,20,40")
    return values


def checked_workdir(path: str | Path, must_exist: bool = False) -> Path:
    """The ``--workdir`` path after checking it is a directory (or can become one) we may write into.

    ``must_exist``: the verb reads a project made by an earlier stage, so a missing folder is an error."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise IlforgeError(f"--workdir {p} is a file, not a directory; give a directory path")
    if not p.exists():
        if must_exist:
            raise IlforgeError(f"--workdir {p} does not exist; run the earlier stages first (e.g. `ilforge run RECIPE --workdir {p}`)")
        parent = next((a for a in p.absolute().parents if a.exists()), None)
        if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise IlforgeError(f"--workdir {p}: cannot create it in {parent} (not a writable directory); choose another path")
        return p
    if not os.access(p, os.W_OK | os.X_OK):
        raise IlforgeError(f"--workdir {p} is not writable; fix its permissions or choose another directory")
    return p
