"""Settings of property analyses (recipe section ``analysis``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AnalysisSettings(BaseModel):
    """Which properties to compute from MD trajectories and how."""

    model_config = ConfigDict(extra="forbid")

    rdf_pairs: list[tuple[str, str]] = Field(default_factory=list, description="atom-type or species pairs")
    rdf_rmax_A: float = Field(10.0, gt=0)
    rdf_bins: int = Field(200, ge=10)
    msd_fit_window_ps: tuple[float, float] | None = None
    viscosity_Pa_s: float | None = Field(None, description="for the Yeh-Hummer correction")
    n_blocks: int = Field(5, ge=2)
