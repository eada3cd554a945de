"""Settings of MLIP training (recipe section ``training``) common to every backend.

A backend subclasses :class:`TrainingSettings` with its own fields (architecture, presets,
fine-tuning); the recipe's ``training:`` section is validated with the class of the backend it
names (``backend:``, default :data:`ilforge.models.registry.DEFAULT_BACKEND`), see
:func:`ilforge.models.registry.settings_from_dict`. Anything a backend offers that is not
modelled passes through ``extra`` unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ilforge.models.registry import DEFAULT_BACKEND


#: stress-loss weight used when the labels carry stress and the recipe sets none. The loss adds
#: w_F <|ΔF|²> + w_σ <|Δσ|²>: force errors are ~0.1 eV/Å (term ~0.1 with w_F = 10), stress errors
#: ~1e-3 eV/Å³ (0.16 GPa). With w_σ = 100 the stress term was ~1e-4, a thousandth of the forces',
#: and the fit ignored it: GFN2-xTB models of EMIM-BF4 kept mean pressure errors of -0.45 to +0.44 GPa
#: on their own training frames (±15 % in density through κT = 0.34 GPa⁻¹). With 1e4 the term is
#: ~1e-2 and the same data gave mean errors within ±0.1 GPa (docs/validation.md).
DEFAULT_STRESS_WEIGHT = 1.0e4

#: largest reference force (eV/Å, any atom) a frame may carry and still train. Thermal frames of
#: ionic liquids carry up to ~8 eV/Å (GFN2-xTB on CL&P snapshots of EMIM-BF4); near-collisions met by
#: exploration MD (52-272 eV/Å) and 0.1 Å rattles (19-119 eV/Å, RMS 8-21 against 2) are not the
#: liquid: the squared force loss weighs one such frame like 20-100 thermal ones and the fit spends
#: itself on them (docs/validation.md, "training data hygiene").
DEFAULT_MAX_FORCE = 20.0


def preset_with_overrides(settings: BaseModel, presets: dict[str, dict], keys) -> dict[str, Any]:
    """``presets[settings.preset]`` with every field of ``keys`` that ``settings`` sets (not None) replacing
    the preset's value: the architecture a backend builds."""
    arch = dict(presets[settings.preset])
    arch.update({k: getattr(settings, k) for k in keys if getattr(settings, k) is not None})
    return arch


class TrainingSettings(BaseModel):
    """Typed settings of an MLIP fit common to all backends; backend-specific extras pass through ``extra``.

    Loss weights multiply the per-quantity losses (energy per atom in eV, forces in eV/Å, stress
    in eV/Å³). ``e0s``: ``auto`` uses isolated-atom energies from the frame store when every
    element has one, else a least-squares fit (refused when the element counts cannot determine it);
    ``isolated`` requires isolated-atom energies; ``fit`` always fits. ``seed`` None: the recipe's
    ``seed`` (set by the train stage); member k of a committee trains with ``seed + k``.
    """

    model_config = ConfigDict(extra="forbid")

    backend: str = Field(DEFAULT_BACKEND, description="MLIP backend (ilforge.models.registry)")
    model_name: str = Field("mlip", pattern=r"^[A-Za-z0-9_.\-]+$", description="name of the trained model: models/<model_name>")
    # optimisation
    max_epochs: int = Field(100, ge=1)
    batch_size: int = Field(4, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    energy_weight: float = Field(1.0, ge=0)
    forces_weight: float = Field(10.0, ge=0)
    stress_weight: float | None = Field(
        None, ge=0, description="weight of the stress loss (eV/Å³ squared); default: "
        "DEFAULT_STRESS_WEIGHT when every training frame carries a stress label, else 0")
    max_force_eV_A: float | None = Field(
        DEFAULT_MAX_FORCE, gt=0, allow_inf_nan=False, description="frames whose largest reference force exceeds this (eV/Å) "
        "do not train or validate (near-collisions, violent rattles); None: keep every frame")
    valid_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.1, ge=0, lt=1)
    dtype: Literal["float32", "float64"] = "float64"
    device: str = "cpu"
    seed: int | None = None
    # committees and reference energies
    committee_size: int = Field(1, ge=1)
    committee_subsample_fraction: float = Field(1.0, gt=0, le=1, description="fraction of the training frames each member sees (bagging)")
    e0s: Literal["auto", "isolated", "fit"] = Field("auto", description="reference energies: isolated atoms if all present (auto), only isolated, or least-squares fit with a rank check")
    extra: dict[str, Any] = Field(default_factory=dict, description="backend settings passed through unchanged")

    def with_stress_weight(self, frames_have_stress: bool) -> "TrainingSettings":
        """These settings with ``stress_weight`` resolved: a given value is kept; the default (None)
        becomes :data:`DEFAULT_STRESS_WEIGHT` when every training frame has a stress label (so the
        model learns the equation of state: the pressure is −tr(σ)/3), else 0."""
        if self.stress_weight is not None:
            return self
        return self.model_copy(update={"stress_weight": DEFAULT_STRESS_WEIGHT if frames_have_stress else 0.0})

    def effective_seed(self) -> int:
        """The seed used for training: ``seed`` or 0 (the train stage sets it from the recipe first)."""
        return 0 if self.seed is None else int(self.seed)
