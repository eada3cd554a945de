"""The project directory: layout (DESIGN.md) and the copy of the recipe that produced it."""

from __future__ import annotations

import shutil
from pathlib import Path

from ilforge.errors import IlforgeError

#: sub-folders of a workdir
BOXES, MODELS, MD, RESULTS = "boxes", "models", "md", "results"
FRAMES_DB = "frames.db"
RECIPE_COPY = "recipe.yaml"


def init_workdir(workdir: str | Path, recipe_path: str | Path) -> Path:
    """Create ``workdir`` and copy the recipe into it. A workdir made from a different recipe
    file content is refused, so two recipes never mix their frames."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    copy = wd / RECIPE_COPY
    src = Path(recipe_path)
    if copy.exists() and src.resolve() != copy.resolve():
        if copy.read_text() != src.read_text():
            old = _name(copy)
            new = _name(src)
            if old != new:
                raise IlforgeError(
                    f"{wd} holds the project of recipe {old!r}, not {new!r}; use another --workdir"
                )
    if src.resolve() != copy.resolve():
        shutil.copyfile(src, copy)
    return wd


def _name(path: Path) -> str:
    import yaml

    try:
        return str((yaml.safe_load(path.read_text()) or {}).get("name"))
    except Exception:  # noqa: BLE001
        return "?"
