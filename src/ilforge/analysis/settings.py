"""Settings of property analyses (recipe section ``analysis``).

``properties`` lists what to compute. Analyses that need formal charges (``conductivity``,
``ions`` and the default cation–anion centre-of-mass RDFs) run when every species' charge is known
(species library, the recipe's ``species:``, or ``charges``); when a property was listed explicitly
and a charge is missing, the analysis stops with an error that says how to give it.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Property = Literal["density", "diffusion", "conductivity", "rdf", "sq", "ions"]
#: the property names ``properties`` accepts
PROPERTIES: tuple[str, ...] = get_args(Property)


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
    charges: dict[str, float] = Field(
        default_factory=dict,
        description="formal charge (e) per species name, for species outside the library (conductivity, ion pairing, "
                    "default centre-of-mass RDFs); e.g. {AR: 0, NE: 0}",
    )


def settings_from(data: dict, labels: dict[str, str] | None = None) -> AnalysisSettings:
    """Validate ``data`` into :class:`AnalysisSettings`. Bad values raise one ``AnalysisError`` line
    naming each field (as ``labels[field]``, e.g. a CLI option, else ``analysis.<field>``), the
    problem and the value given."""
    from pydantic import ValidationError

    from ilforge.analysis.base import AnalysisError

    try:
        return AnalysisSettings.model_validate(data)
    except ValidationError as exc:
        parts = []
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            name = (labels or {}).get(field, f"analysis.{field}")
            parts.append(f"{name}: {e['msg']} (got {e.get('input')!r})")
        raise AnalysisError("; ".join(parts)) from None
