"""JSON (and extended-XYZ) files that a rerun trusts: written through a temporary file and a rename, so a reader (or a
run killed mid-write) never sees half a file; numpy scalars/arrays and paths are written as numbers,
lists and strings."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def json_default(obj):
    """``json.dumps``'s ``default``: numpy scalars → numbers, arrays → lists, paths and anything
    else → their string."""
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a unique temporary file in the same folder + rename, so
    two writers never share a temporary and a reader never sees half a file), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path: str | Path, doc, indent: int = 1, sort_keys: bool = False) -> Path:
    """Write ``doc`` to ``path`` as JSON atomically (:func:`write_text_atomic`)."""
    return write_text_atomic(path, json.dumps(doc, indent=indent, sort_keys=sort_keys, default=json_default))


def write_extxyz_atomic(path: str | Path, frames) -> Path:
    """Write ``frames`` (ASE Atoms) to ``path`` as extended XYZ atomically: a temporary file in the same
    folder and a rename, so a killed run leaves the old file or the new one, never half of one."""
    from ase.io import write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.extxyz")
    write(tmp, list(frames), format="extxyz")
    os.replace(tmp, path)
    return path
