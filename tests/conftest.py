"""Shared fixtures. Tests make their own small data or read the data shipped inside the package
(CL&P, water models, experimental reference data); nothing here depends on files beside the checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

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
def xray_sq_litfsi() -> Path:
    """The measured X-ray S(q) of 21 m LiTFSI(aq). Not shipped in the package (it comes from a
    GPL-licensed repository): read from ``../shared/data/experiment`` (or ``ILFORGE_SHARED_DATA``), skipped
    when absent."""
    import os

    root = Path(os.environ.get("ILFORGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = root / "experiment" / "xray_sq_litfsi_21m.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found (licence-restricted data, not shipped)")
    return path
