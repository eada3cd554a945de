"""Settings of reference labelling (recipe section ``labels``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LabelSettings(BaseModel):
    """Which labeler produces reference energies, forces and stress, and its options."""

    model_config = ConfigDict(extra="forbid")

    labeler: Literal["xtb", "cp2k", "espresso", "classical", "ase"] = "xtb"
    method: str | None = Field(None, description="e.g. GFN1-xTB, GFN2-xTB (xtb); PBE (cp2k)")
    options: dict[str, Any] = Field(default_factory=dict, description="labeler-specific settings, passed through")
    max_attempts: int = Field(3, ge=1, description="tries per frame before it is marked failed")
    frames_per_composition: int = Field(20, ge=0, description="how many sampled frames to label per composition")
