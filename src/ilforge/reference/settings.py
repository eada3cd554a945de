"""Settings of reference labelling (recipe section ``labels``)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RattleStrategy(_Strict):
    """Copies of selected frames with every atom displaced by a Gaussian of ``stdev_A`` (Å) per coordinate."""

    copies: int = Field(0, ge=0, description="rattled copies per selected frame (0: off)")
    stdev_A: float = Field(0.05, gt=0, allow_inf_nan=False,
                           description="standard deviation of the displacement, Å (finite, > 0)")
    frames_per_composition: int = Field(0, ge=0, description="how many selected frames get copies (0: all)")


#: default volume changes of the volume-scan strategy, % (issue 15: labels on both sides of the
#: equilibrium volume let the model learn the pressure, so its NPT density follows the reference)
DEFAULT_VOLUME_SCAN_PERCENT = (-10.0, -5.0, 5.0, 10.0)


class VolumeScanStrategy(_Strict):
    """Isotropic volume changes of selected frames; molecules move rigidly with their centre of mass."""

    percent: list[float] = Field(default_factory=lambda: list(DEFAULT_VOLUME_SCAN_PERCENT),
                                 description="volume changes in %, each finite and > -100; default compressed and "
                                 "expanded by 5 and 10 % so the model sees the equation of state ([] switches it off)")
    frames_per_composition: int = Field(1, ge=0, description="how many selected frames are scanned (0: all)")

    @field_validator("percent")
    @classmethod
    def _physical_percent(cls, percent: list[float]) -> list[float]:
        """A change p % scales the volume by 1 + p/100: it must stay finite and positive."""
        bad = [p for p in percent if not math.isfinite(p) or p <= -100.0]
        if bad:
            raise ValueError(f"{bad} would give a volume <= 0 or not finite; each change must be finite and "
                             "> -100 (e.g. [-4, 4])")
        return percent


class ContactScanStrategy(_Strict):
    """Copies of selected frames with one intermolecular contact per element pair shortened (the
    molecule moved rigidly): the reference's short-range repulsion, which force-field frames never
    reach (see :func:`ilforge.reference.strategies.contact_scan`)."""

    pairs: list[tuple[str, str]] = Field(default_factory=list, description="element pairs (a, b), e.g. [[H, F]]: the "
                                         "closest a-b contact between molecules is shortened ([] switches it off)")
    distances_A: list[float] = Field(default_factory=lambda: [1.3, 1.5, 1.7], description="contact distances made, Å "
                                     "(only those shorter than the frame's own contact)")
    frames_per_composition: int = Field(4, ge=0, description="how many selected frames are scanned (0: all)")

    @field_validator("pairs")
    @classmethod
    def _elements(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        from ase.data import chemical_symbols

        bad = sorted({e for p in pairs for e in p if e not in chemical_symbols[1:]})
        if bad:
            raise ValueError(f"{bad} are not element symbols; give pairs of symbols such as [[H, F], [H, O]]")
        return pairs

    @field_validator("distances_A")
    @classmethod
    def _positive(cls, d: list[float]) -> list[float]:
        bad = [x for x in d if not math.isfinite(x) or x <= 0.5]
        if bad:
            raise ValueError(f"{bad}: contact distances must be finite and > 0.5 Å (e.g. [1.3, 1.5, 1.7])")
        return d


class ReferenceMDStrategy(_Strict):
    """Short MD at the reference level from classical frames (Langevin, NVT), keeping every k-th step:
    non-equilibrated frames, which the papers found to improve the data."""

    steps: int = Field(0, ge=0, description="MD steps per run (0: off); e.g. 50")
    keep_every: int = Field(10, ge=1, description="keep every k-th step as a labelled frame")
    timestep_fs: float = Field(0.5, gt=0, description="time step, fs")
    temperature_K: float | None = Field(None, gt=0, description="thermostat temperature, K (default: the frame's)")
    friction_per_ps: float = Field(10.0, gt=0, description="Langevin friction, 1/ps")
    frames_per_composition: int = Field(1, ge=0, description="how many selected frames start a run (0: all)")

    @model_validator(mode="before")
    @classmethod
    def _renamed_friction(cls, data: Any):
        if isinstance(data, dict) and "friction_per_fs" in data:
            raise ValueError("friction_per_fs was renamed friction_per_ps (1/ps, as everywhere else): "
                             f"use friction_per_ps: {1000 * float(data['friction_per_fs']):g}")
        return data


class RelaxStrategy(_Strict):
    """A few optimisation steps (BFGS, fixed cell) at the reference level, keeping every k-th step."""

    steps: int = Field(0, ge=0, description="optimisation steps per frame (0: off); e.g. 5")
    keep_every: int = Field(1, ge=1, description="keep every k-th step as a labelled frame")
    fmax_eV_A: float = Field(0.05, gt=0, description="stop early below this maximum force, eV/Å")
    frames_per_composition: int = Field(1, ge=0, description="how many selected frames are relaxed (0: all)")


class StrategySettings(_Strict):
    """The papers' data strategies; each runs through the same labeler and store."""

    rattle: RattleStrategy = Field(default_factory=RattleStrategy)
    volume_scan: VolumeScanStrategy = Field(default_factory=VolumeScanStrategy)
    contact_scan: ContactScanStrategy = Field(default_factory=ContactScanStrategy)
    reference_md: ReferenceMDStrategy = Field(default_factory=ReferenceMDStrategy)
    relax: RelaxStrategy = Field(default_factory=RelaxStrategy)


class LabelSettings(_Strict):
    """Which labeler produces reference energies, forces and stress, and its options."""

    labeler: Literal["xtb", "cp2k", "espresso", "classical", "ase", "sevennet"] = "xtb"
    method: str | None = Field(None, description="e.g. GFN1-xTB, GFN2-xTB (xtb); PBE (cp2k, espresso); 7net-0 (sevennet)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="labeler-specific settings, passed to its constructor (see docs/labelling.md)",
    )
    max_attempts: int = Field(3, ge=1, description="tries per frame before it is marked failed")
    frames_per_composition: int = Field(
        20, ge=0, description="how many sampled frames to label per composition, evenly spaced (0: all)"
    )
    config_types: list[str] | None = Field(
        None, description="label only sampled frames of these config types (default: all)"
    )
    isolated_atoms: bool = Field(True, description="compute isolated-atom energies (E0s) of every element")
    isolated_ions: bool = Field(False, description="compute energies of every isolated ion of the recipe")
    seed: int | None = Field(None, description="seed of rattles and reference MD (default: the recipe's seed)")
    strategies: StrategySettings = Field(default_factory=StrategySettings)
    dispersion: Literal["none", "d3bj", "d3zero"] = Field(
        "none", description="add Grimme's D3 dispersion (Becke-Johnson or zero damping; simple-dftd3) to energy, "
        "forces and stress of any labeler whose method has none (see docs/reference_check.md)")
    dispersion_functional: str | None = Field(
        None, description="functional whose D3 parameters to use (default: the labeler's method, e.g. PBE)")


#: the methods the pre-flight reference check knows (``reference_check.methods``, ``--methods``)
CheckMethod = Literal["labeler", "gfn1", "gfn2", "classical", "cp2k", "sevennet"]


class ReferenceCheckSettings(_Strict):
    """The pre-flight reference check of ``ilforge run`` (its ``check`` stage, before sampling and
    labelling; ``ilforge reference check`` runs it alone with its own options): the molecular virial
    pressure of each method on classical snapshots at the experimental density, and the density
    error it implies (docs/reference_check.md)."""

    enabled: bool = Field(True, description="run the check in `ilforge run` (it costs `frames` labels per method)")
    methods: list[CheckMethod] = Field(
        default_factory=lambda: ["labeler"], min_length=1,
        description="labeler (the recipe's), gfn1, gfn2, classical, cp2k (minutes per frame), sevennet")
    frames: int = Field(4, ge=1, le=100, description="classical snapshots evaluated")
    thermalise_ps: float = Field(10.0, ge=0, le=10000, allow_inf_nan=False, description="NVT before the first snapshot, ps")
    interval_ps: float = Field(2.0, gt=0, le=10000, allow_inf_nan=False, description="time between snapshots, ps")
    own_md_steps: int = Field(
        0, ge=0, le=100000,
        description="steps (0.5 fs) of NVT MD at each method's own level from every snapshot before its pressure is "
                    "measured (mean over the second half): the pressure on the method's own structures, not the force "
                    "field's; 0: the snapshots as they are. Costs frames x steps labels per method")
