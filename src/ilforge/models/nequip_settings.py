"""Settings of the NequIP and Allegro backends (recipe ``training:`` with ``backend: nequip`` or ``allegro``).

Both are E(3)-equivariant models of the NequIP framework (nequip 0.19, nequip-allegro 0.8) with the
energy E = Σ_i [s_Z · ε_i + E0[Z_i]]: ε_i the network's per-atom output, s_Z a per-type scale (the
training forces' RMS, eV), E0[Z] ilforge's reference energy of element Z (the model's fixed
``per_type_energy_shifts``). An atom without neighbours within ``r_max_A`` has ε_i = 0 in both
architectures (NequIP's first layer has no self-connection; Allegro's energy is a sum over pairs),
so an isolated atom has exactly E0. Forces F = −∂E/∂r and stress σ = (1/V) ∂E/∂ε by autograd.

- **NequIP** (Batzner et al., Nat. Commun. 2022): message passing over ``num_layers`` interaction
  blocks; features up to rotation order ``l_max`` with ``num_features`` channels per irrep; the
  receptive field is num_layers × r_max.
- **Allegro** (Musaelian et al., Nat. Commun. 2023): strictly local (receptive field r_max), energies
  as a sum over ordered pairs ij; a scalar track (``num_scalar_features`` per pair) and a tensor track
  (``num_tensor_features`` channels of the pair's equivariant features up to ``l_max``, coupled by
  ``num_layers`` tensor products) — hence parallel in LAMMPS (``pair_allegro``).

Size presets (every field can be overridden one by one):

=========== ======  =====  ==========  ===========================================================
backend     preset  r_max  l_max       width
=========== ======  =====  ==========  ===========================================================
nequip      small   5.0 Å  1           3 layers × 16 features, radial MLP 1 × 32
nequip      medium  5.0 Å  2           4 layers × 32 features, radial MLP 2 × 64
allegro     small   5.0 Å  1           1 layer, 32 scalar / 8 tensor features, MLPs 1 × 32
allegro     medium  5.0 Å  2           2 layers, 64 scalar / 16 tensor features, MLPs 1 × 64
=========== ======  =====  ==========  ===========================================================

Training: ``max_epochs`` epochs of Adam (``learning_rate``) on the loss
w_E ⟨(ΔE/N)²⟩ + w_F ⟨ΔF²⟩ + w_σ ⟨Δσ²⟩ (eV, eV/Å, eV/Å³; nequip's ``EnergyForce[Stress]Loss`` with
``per_atom_energy``), an exponential moving average of the weights (``ema_decay``) used for the
saved model, the checkpoint with the lowest validation loss kept.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ilforge.models.settings import TrainingSettings

NEQUIP_PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(r_max_A=5.0, l_max=1, num_layers=3, num_features=16, radial_mlp_depth=1, radial_mlp_width=32),
    "medium": dict(r_max_A=5.0, l_max=2, num_layers=4, num_features=32, radial_mlp_depth=2, radial_mlp_width=64),
}
ALLEGRO_PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(r_max_A=5.0, l_max=1, num_layers=1, num_scalar_features=32, num_tensor_features=8, mlp_width=32),
    "medium": dict(r_max_A=5.0, l_max=2, num_layers=2, num_scalar_features=64, num_tensor_features=16, mlp_width=64),
}


class _NequipFamilySettings(TrainingSettings):
    """Fields NequIP and Allegro share: cutoff, radial basis, EMA, threads."""

    preset: Literal["small", "medium"] = Field("small", description="size preset (cutoff 5 Å, widths; module docstring)")
    r_max_A: float | None = Field(None, gt=0, description="cutoff radius, Å (None: preset)")
    l_max: int | None = Field(None, ge=0, le=3, description="maximum rotation order of the equivariant features (None: preset)")
    num_layers: int | None = Field(None, ge=1, description="interaction blocks (NequIP) or tensor-product layers (Allegro) (None: preset)")
    parity: bool = Field(True, description="keep features of both parities (False: faster, often as accurate)")
    num_bessels: int = Field(8, ge=1, description="radial Bessel basis functions")
    polynomial_cutoff_p: int = Field(6, ge=2, description="exponent p of the polynomial cutoff envelope")
    ema_decay: float = Field(0.99, gt=0, lt=1, description="decay of the exponential moving average of the weights (the saved model)")
    threads: int | None = Field(None, ge=1, description="torch/OpenMP threads of the environment's processes (None: its default)")

    def architecture(self) -> dict[str, Any]:
        """The preset's architecture with the explicit overrides (fields that are not None) applied."""
        arch = dict(self._presets()[self.preset])
        for key in arch:
            value = getattr(self, key, None)
            if value is not None:
                arch[key] = value
        return arch

    def _presets(self) -> dict[str, dict[str, Any]]:  # pragma: no cover - overridden
        raise NotImplementedError


class NequipSettings(_NequipFamilySettings):
    """NequIP (message passing, nequip 0.19) training: the common settings plus its sizes."""

    backend: Literal["nequip"] = "nequip"
    learning_rate: float = Field(0.01, gt=0, description="Adam learning rate (NequIP's tutorial value)")
    num_features: int | None = Field(None, ge=1, description="channels per irrep of the hidden features (None: preset)")
    radial_mlp_depth: int | None = Field(None, ge=1, description="hidden layers of the radial MLP (None: preset)")
    radial_mlp_width: int | None = Field(None, ge=1, description="width of the radial MLP (None: preset)")

    def _presets(self) -> dict[str, dict[str, Any]]:
        return NEQUIP_PRESETS


class AllegroSettings(_NequipFamilySettings):
    """Allegro (strictly local, nequip-allegro 0.8) training: the common settings plus its two tracks."""

    backend: Literal["allegro"] = "allegro"
    learning_rate: float = Field(0.001, gt=0, description="Adam learning rate (Allegro's tutorial value)")
    num_scalar_features: int | None = Field(None, ge=1, description="scalar-track features per pair (None: preset)")
    num_tensor_features: int | None = Field(None, ge=1, description="tensor-track channels per pair (None: preset)")
    mlp_width: int | None = Field(None, ge=1, description="width of the embedding, Allegro and readout MLPs (None: preset)")
    tp_path_channel_coupling: bool = Field(True, description="couple tensor-product paths and channels (Allegro default)")

    def _presets(self) -> dict[str, dict[str, Any]]:
        return ALLEGRO_PRESETS
