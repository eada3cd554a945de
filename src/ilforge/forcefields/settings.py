"""Settings of the classical force field (recipe section ``forcefield``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ForceFieldSettings(BaseModel):
    """Which classical force field describes the species.

    ``clandp``: CL&P/OPLS-AA parameters from an fftool-format directory (il.ff + molecule files; by
    default the copy shipped with ilforge);
    ``generic``: UFF bonded terms and LJ from RDKit with xTB-optimised geometry and charges, for any SMILES.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["clandp", "generic"] = "generic"
    path: Path | None = Field(
        None,
        description="directory with il.ff and molecule files (.zmat/.xyz) for type clandp; "
        "default: the CL&P copy shipped with ilforge",
    )
    molecule_files: dict[str, str] = Field(
        default_factory=dict, description="species name -> molecule file in `path`, overriding the species library"
    )
    charge_scale: float = Field(0.8, gt=0, le=1.0, description="factor on all partial charges (0.7-0.8 for sampling)")
    cutoff_A: float = Field(12.0, gt=0, description="real-space cutoff of LJ and Coulomb, Å")
    constraints: Literal["none", "hbonds", "cons"] = Field(
        "none", description="constrain X-H bonds (hbonds, allows 2 fs steps) or the bonds marked `cons` in the .ff file"
    )
    ewald_tolerance: float = Field(1e-5, gt=0, lt=1, description="relative accuracy of PME forces (OpenMM)")
    generic_method: Literal["GFN2-xTB", "GFN1-xTB"] = Field(
        "GFN2-xTB", description="xTB method for geometry and charges of the generic force field"
    )
