"""Shared fixtures. Tests make their own small data or read the data shipped inside the package
(CL&P, water models, experimental reference data); nothing here depends on files beside the checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _package_dir(package: str, *parts: str) -> Path:
    return Path(str(resources.files(package).joinpath(*parts)))


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def clandp() -> Path:
    """The CL&P database shipped in the package (il.ff + molecule files)."""
    from ilforge.forcefields.shipped import clandp_dir

    return clandp_dir()


@pytest.fixture
def water_models() -> Path:
    """fftool's water models shipped in the package (spce.zmat + spce.ff, ...)."""
    from ilforge.forcefields.shipped import water_dir

    return water_dir()


@pytest.fixture
def experiment_data() -> Path:
    """The experimental data shipped in the package (``ilforge/experiment/data``)."""
    return _package_dir("ilforge.experiment", "data")


@pytest.fixture
def sq_file(tmp_path) -> Path:
    """An S(q) file shaped like a measured X-ray structure factor of a concentrated electrolyte: q from
    0.205 to 11.5 1/Å (300 points), S(q) = 1 + a damped oscillation with a strong first peak near
    2 1/Å; written with a comment line, out of order and with one duplicated q, as real files come.
    (The measured 21 m LiTFSI(aq) curve comes from a GPL-licensed repository and is not shipped.)"""
    q = np.linspace(0.205, 11.5, 300)
    s = 1.0 + 0.8 * np.exp(-0.25 * q) * np.sin(3.1 * q - 1.2) / np.maximum(q, 0.5) * 2.0
    rows = np.column_stack([q, s])
    rows = np.vstack([rows[150:], rows[:150], rows[10:11]])  # out of order, q[10] twice
    path = tmp_path / "sq_measured_like.txt"
    np.savetxt(path, rows, header="q (1/A)  S(q)")
    return path
