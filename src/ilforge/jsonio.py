"""JSON files that a rerun trusts: written through a temporary file and a rename, so a reader (or a
run killed mid-write) never sees half a file; numpy scalars/arrays and paths are written as numbers,
lists and strings."""

from __future__ import annotations

import json
import os
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


def write_json_atomic(path: str | Path, doc, indent: int = 1, sort_keys: bool = False) -> Path:
    """Write ``doc`` to ``path`` as JSON atomically (temporary file + rename), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=indent, sort_keys=sort_keys, default=json_default))
    os.replace(tmp, path)
    return path
