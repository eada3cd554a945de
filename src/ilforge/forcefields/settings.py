"""Settings of the classical force field (recipe section ``forcefield``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    lj_switch_width_A: float = Field(
        1.0, ge=0, description="LJ switched smoothly to zero over the last this many Å before the cutoff "
        "(energy and forces continuous, so stress = -dE/dV); 0 = plain cut (the classical labeler then "
        "refuses to compute stress)",
    )
    lj_tail: bool = Field(True, description="analytic LJ long-range (tail) correction beyond the cutoff, switch included")
    generic_method: Literal["GFN2-xTB", "GFN1-xTB"] = Field(
        "GFN2-xTB", description="xTB method for geometry and charges of the generic force field"
    )

    @model_validator(mode="after")
    def _switch_inside_cutoff(self) -> "ForceFieldSettings":
        if self.lj_switch_width_A >= self.cutoff_A:
            raise ValueError(
                f"forcefield.lj_switch_width_A ({self.lj_switch_width_A} Å) must be smaller than "
                f"forcefield.cutoff_A ({self.cutoff_A} Å): the switch starts at cutoff - width"
            )
        return self

    def system_options(self, cutoff_A: float | None = None) -> dict:
        """Keyword arguments of :func:`ilforge.forcefields.openmm_system.build_system` for these settings:
        the one place the sampler and the classical labeler take them from, so both see one energy
        surface. ``cutoff_A`` overrides the cutoff (the sampler's :func:`effective_cutoff` for small
        boxes); the switch width is then capped at half the cutoff."""
        rc = self.cutoff_A if cutoff_A is None else float(cutoff_A)
        return {"charge_scale": self.charge_scale, "cutoff_A": rc, "ewald_tolerance": self.ewald_tolerance,
                "lj_tail": self.lj_tail, "lj_switch_width_A": min(self.lj_switch_width_A, 0.5 * rc)}

    def level_tag(self, cutoff_A: float | None = None) -> str:
        """The non-bonded settings as a short tag for levels of theory and frame metadata, e.g.
        ``cutoff=12A;switch=1A;ewald=1e-05;tail=on`` (the charge scale is in the force-field name)."""
        o = self.system_options(cutoff_A)
        return nonbonded_tag(o["cutoff_A"], o["lj_switch_width_A"], o["ewald_tolerance"], o["lj_tail"])


def nonbonded_tag(cutoff_A: float, lj_switch_width_A: float, ewald_tolerance: float, lj_tail: bool) -> str:
    """``cutoff=<Å>A;switch=<Å>A;ewald=<tol>;tail=on|off``: the non-bonded settings in levels of theory
    and in the ``forcefield`` info of sampled frames, so labels made with other settings differ."""
    return (f"cutoff={cutoff_A:g}A;switch={lj_switch_width_A:g}A;ewald={ewald_tolerance:g};"
            f"tail={'on' if lj_tail else 'off'}")
