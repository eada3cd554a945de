"""Settings of MLIP molecular dynamics (recipe section ``md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MDSettings(BaseModel):
    """MD with a trained MLIP (or any labeler) on the built boxes."""

    model_config = ConfigDict(extra="forbid")

    ensemble: Literal["nvt", "npt", "nve"] = "npt"
    thermostat: Literal["langevin", "nose-hoover"] = "langevin"
    timestep_fs: float = Field(0.5, gt=0)
    equilibration_ps: float = Field(1.0, ge=0)
    production_ps: float = Field(5.0, ge=0)
    temperatures_K: list[float] | None = Field(None, description="default: the recipe's temperatures")
    pressures_bar: list[float] = Field(default_factory=lambda: [1.0])
    save_every_steps: int = Field(10, ge=1)
