"""Force-field data shipped inside the package (``ilforge/forcefields/data``).

``clandp/``: CL&P (il.ff + molecule files, MIT, Canongia Lopes & Pádua); ``water/``: fftool's water
models (MIT, Pádua). Both are plain folders of package data, found with :mod:`importlib.resources`
so they work from a source checkout, an editable install and a wheel alike.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ilforge.errors import IlforgeError


def _data_dir(name: str) -> Path:
    """Real directory of the shipped data folder ``name`` (package data are plain files on disk)."""
    path = Path(str(resources.files("ilforge.forcefields").joinpath("data", name)))
    if not path.is_dir():
        raise IlforgeError(f"the shipped force-field data {path} is missing; reinstall ilforge")
    return path


def clandp_dir() -> Path:
    """The CL&P database shipped with ilforge: the default of ``forcefield.path`` for type clandp."""
    return _data_dir("clandp")


def water_dir() -> Path:
    """fftool's water models (SPC/E, TIP4P, ...) shipped with ilforge, beside :func:`clandp_dir`."""
    return _data_dir("water")
