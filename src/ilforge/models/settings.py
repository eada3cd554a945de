"""Settings of MLIP training (recipe section ``training``).

ilforge owns a small typed settings object; the MACE backend translates it into mace-torch's
command-line arguments (:func:`ilforge.models.mace_backend.mace_arguments`). Anything MACE offers
that is not modelled here passes through ``extra`` unchanged (``{"swa": True, "lr_factor": 0.5}``
becomes ``--swa --lr_factor 0.5``).

Size presets (architecture only; every field can be overridden one by one):

========  ==========  =====  =======  ===========  ============  ========
preset    channels    max_L  max_ell  correlation  interactions  r_max/Å
========  ==========  =====  =======  ===========  ============  ========
small     32          0      1        2            1             5.0
medium    64          1      2        3            2             5.0
large     128         2      3        3            2             6.0
========  ==========  =====  =======  ===========  ============  ========

``small`` trains in minutes on a CPU (tests, transferability studies with tiny boxes); ``medium`` is
the MACE-OFF-like size used in the IL papers; ``large`` for GPUs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(num_channels=32, max_L=0, max_ell=1, correlation=2, num_interactions=1, r_max_A=5.0, radial_mlp=[32, 32]),
    "medium": dict(num_channels=64, max_L=1, max_ell=2, correlation=3, num_interactions=2, r_max_A=5.0, radial_mlp=[64, 64, 64]),
    "large": dict(num_channels=128, max_L=2, max_ell=3, correlation=3, num_interactions=2, r_max_A=6.0, radial_mlp=[64, 64, 64]),
}


class TrainingSettings(BaseModel):
    """Typed settings of an MLIP fit; backend-specific extras pass through ``extra``.

    Loss weights multiply MACE's per-quantity losses (energy per atom in eV, forces in eV/Å,
    stress in eV/Å³). ``e0s``: ``auto`` uses isolated-atom energies from the frame store when every
    element has one, else a least-squares fit (refused when the element counts cannot determine it);
    ``isolated`` requires isolated-atom energies; ``fit`` always fits.
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["mace"] = "mace"
    preset: Literal["small", "medium", "large"] = "small"
    # architecture overrides (None: take the preset's value)
    num_channels: int | None = Field(None, ge=1, description="channels per feature (None: from the preset)")
    max_L: int | None = Field(None, ge=0, le=3, description="highest symmetry L of the message features (None: preset)")
    max_ell: int | None = Field(None, ge=1, le=4, description="highest ℓ of the spherical harmonics (None: preset)")
    correlation: int | None = Field(None, ge=1, le=4, description="body order − 1 of each product (None: preset)")
    num_interactions: int | None = Field(None, ge=1, le=4, description="message-passing layers (None: preset)")
    r_max_A: float | None = Field(None, gt=0, description="cutoff radius, Å (None: preset)")
    # optimisation
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
    # committees and reference energies
    committee_size: int = Field(1, ge=1)
    committee_subsample_fraction: float = Field(1.0, gt=0, le=1, description="fraction of the training frames each member sees (bagging)")
    e0s: Literal["auto", "isolated", "fit"] = Field("auto", description="reference energies: isolated atoms if all present (auto), only isolated, or least-squares fit with a rank check")
    # fine-tuning from a local foundation-model file
    foundation_model: str | None = Field(None, description="path of a local MACE model file to fine-tune")
    finetune: Literal["naive", "multihead"] = Field("naive", description="fine-tuning mode (mace-torch): all weights, or with a replay head on the foundation data")
    extra: dict[str, Any] = Field(default_factory=dict, description="backend settings passed through unchanged")

    def architecture(self) -> dict[str, Any]:
        """The preset's architecture with the explicit overrides applied."""
        arch = dict(PRESETS[self.preset])
        for key in ("num_channels", "max_L", "max_ell", "correlation", "num_interactions", "r_max_A"):
            value = getattr(self, key)
            if value is not None:
                arch[key] = value
        return arch

    def effective_seed(self) -> int:
        """The seed used for training (MACE needs one): ``seed`` or 0."""
        return 0 if self.seed is None else int(self.seed)
