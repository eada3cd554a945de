"""Settings of property analyses (recipe section ``analysis``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Property = Literal["density", "diffusion", "conductivity", "rdf", "sq", "ions"]


class AnalysisSettings(BaseModel):
    """Which properties to compute from MD trajectories and how."""

    model_config = ConfigDict(extra="forbid")

    properties: list[Property] = Field(default_factory=lambda: ["density", "diffusion", "conductivity", "rdf", "ions"])
    rdf_pairs: list[tuple[str, str]] = Field(default_factory=list, description="element pairs, e.g. [Li, O]; empty: none")
    com_rdf_pairs: list[tuple[str, str]] = Field(default_factory=list, description="species pairs for centre-of-mass RDFs; empty: all cation-anion pairs")
    rdf_rmax_A: float = Field(10.0, gt=0)
    rdf_bins: int = Field(200, ge=10)
    cn_cutoffs_A: dict[str, float] = Field(default_factory=dict, description="coordination-number cutoffs per pair 'A-B' (else first minimum)")
    msd_fit_window_ps: tuple[float, float] | None = None
    viscosity_Pa_s: float | None = Field(None, description="for the Yeh-Hummer correction (else the experimental value when known)")
    n_blocks: int = Field(5, ge=2)
    experiment_system: str | None = Field(
        None, description="name in the experimental tables to compare with (default: matched by composition, e.g. EMIM_BF4)"
    )
    skip_ps: float = Field(0.0, ge=0, description="production time discarded at the start")
    sq_experiment: str | None = Field(None, description="two-column file q (1/Å), S(q) for the R-factor")
    sq_rmax_A: float | None = Field(None, gt=0, description="RDF cutoff for S(q); default half the box")
    cation: str = Field("Li", description="element whose environment the 'ions' analysis describes")
    close_contact_A: float = Field(2.0, gt=0, description="cation-cation distance counted as unphysical contact")
    coordination_cutoff_A: float = Field(2.8, gt=0, description="cation-anion coordination cutoff")
    coordinating_elements: list[str] = Field(default_factory=lambda: ["O", "N", "F"])
