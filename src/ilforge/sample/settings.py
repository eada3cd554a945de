"""Settings of structure sampling (recipe section ``sampling``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SamplingSettings(BaseModel):
    """Classical MD sampling per composition and temperature (perturbed copies: ``labels.strategies``)."""

    model_config = ConfigDict(extra="forbid")

    pressure_bar: float = Field(1.0, description="pressure of NPT equilibration/production, bar")
    timestep_fs: float = Field(1.0, gt=0, description="integration time step, fs")
    equilibration_ps: float = Field(100.0, ge=0, description="equilibration length, ps")
    equilibration_ensemble: str = Field(
        "npt", pattern="^(nvt|npt)$",
        description="npt: the force field's own density; nvt (with ensemble nvt): the box keeps its packed density, "
                    "e.g. the experimental one when the force field's is off (a small box's shortened cutoff)")
    production_ps: float = Field(200.0, ge=0, description="production length, ps")
    ensemble: str = Field("npt", pattern="^(nvt|npt)$", description="production ensemble")
    interval_ps: float = Field(10.0, gt=0, description="time between saved (decorrelated) snapshots, ps")
    friction_per_ps: float = Field(1.0, gt=0, description="Langevin friction, 1/ps")
    report_interval_ps: float = Field(1.0, gt=0, description="time between density/energy records, ps")
    minimize: bool = Field(True, description="minimise the packed box before equilibration")
    platform: str | None = Field(None, description="OpenMM platform (default: CUDA when present, else CPU)")
