"""Settings of the MACE backend (recipe ``training:`` with ``backend: mace``, the default).

ilforge's typed settings; :func:`ilforge.models.mace_cli.mace_arguments` translates them into
mace-torch's command-line arguments. Anything MACE offers that is not modelled here passes
through ``extra`` unchanged (``{"swa": True, "lr_factor": 0.5}`` becomes ``--swa --lr_factor 0.5``).

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

from pydantic import Field

from ilforge.models.settings import TrainingSettings, preset_with_overrides

PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(num_channels=32, max_L=0, max_ell=1, correlation=2, num_interactions=1, r_max_A=5.0, radial_mlp=[32, 32]),
    "medium": dict(num_channels=64, max_L=1, max_ell=2, correlation=3, num_interactions=2, r_max_A=5.0, radial_mlp=[64, 64, 64]),
    "large": dict(num_channels=128, max_L=2, max_ell=3, correlation=3, num_interactions=2, r_max_A=6.0, radial_mlp=[64, 64, 64]),
}

ARCHITECTURE_KEYS = ("num_channels", "max_L", "max_ell", "correlation", "num_interactions", "r_max_A")


class MaceSettings(TrainingSettings):
    """MACE training: the common settings plus architecture (a size preset with overrides) and fine-tuning."""

    backend: Literal["mace"] = "mace"
    preset: Literal["small", "medium", "large"] = "small"
    # architecture overrides (None: take the preset's value)
    num_channels: int | None = Field(None, ge=1, description="channels per feature (None: from the preset)")
    max_L: int | None = Field(None, ge=0, le=3, description="highest symmetry L of the message features (None: preset)")
    max_ell: int | None = Field(None, ge=1, le=4, description="highest ℓ of the spherical harmonics (None: preset)")
    correlation: int | None = Field(None, ge=1, le=4, description="body order − 1 of each product (None: preset)")
    num_interactions: int | None = Field(None, ge=1, le=4, description="message-passing layers (None: preset)")
    r_max_A: float | None = Field(None, gt=0, description="cutoff radius, Å (None: preset)")
    # fine-tuning from a local foundation-model file
    foundation_model: str | None = Field(None, description="path of a local MACE model file (or ilforge model directory) to fine-tune")
    finetune: Literal["naive", "multihead"] = Field("naive", description="fine-tuning mode (mace-torch): all weights, or with a replay head on the foundation data")

    def architecture(self) -> dict[str, Any]:
        """The preset's architecture with the explicit overrides applied."""
        return preset_with_overrides(self, PRESETS, ARCHITECTURE_KEYS)
