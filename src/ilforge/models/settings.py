"""Settings of MLIP training (recipe section ``training``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainingSettings(BaseModel):
    """Typed settings of an MLIP fit; backend-specific extras pass through ``extra``."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["mace"] = "mace"
    preset: Literal["small", "medium", "large"] = "small"
    max_epochs: int = Field(100, ge=1)
    batch_size: int = Field(4, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    energy_weight: float = Field(1.0, ge=0)
    forces_weight: float = Field(10.0, ge=0)
    stress_weight: float = Field(0.0, ge=0)
    valid_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.1, ge=0, lt=1)
    dtype: Literal["float32", "float64"] = "float64"
    device: str = "cpu"
    seed: int | None = None
    committee_size: int = Field(1, ge=1)
    e0s: Literal["isolated", "fit"] = "isolated"
    extra: dict[str, Any] = Field(default_factory=dict, description="backend settings passed through unchanged")
