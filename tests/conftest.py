"""Shared fixtures. Tests make their own small data or read ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED_DATA = Path(os.environ.get("ILFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set ILFORGE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def clandp(shared_data) -> Path:
    """The CL&P force-field files of the shared data (skipped when absent)."""
    d = shared_data / "clandp"
    if not (d / "il.ff").is_file():
        pytest.skip(f"CL&P data not found at {d}")
    return d
