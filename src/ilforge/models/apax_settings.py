"""Settings of the apax backend (recipe ``training:`` with ``backend: apax``; apax 0.14, JAX).

The model is apax's GMNN (Gaussian-moment neural network, Zaverkin & Kästner, JCTC 2020; the
architecture NeuralIL used for ionic liquids, Montes-Campos et al., JCIM 2022):
E = Σ_i [s_Z · NN(G_i) + μ_Z] + Σ_i E0[Z_i], where G_i are atom i's Gaussian moments (``n_radial``
contracted radial functions built from ``n_basis`` Bessel functions within ``r_max_A``, contracted
into ``n_contr`` rotation-invariant moments), NN a dense network with hidden widths ``nn``, s_Z and
μ_Z apax's per-element scale (the training forces' RMS) and shift (a ridge regression of the
energies, then trained); E0[Z] ilforge's reference energies, subtracted from the labels before apax
sees them and added back in every prediction.

Size presets (every field can be overridden one by one):

=======  ======  =======  ========  ======  ==========
preset   r_max   n_basis  n_radial  n_contr nn
=======  ======  =======  ========  ======  ==========
small    5.0 Å   8        4         8       [64, 64]
medium   5.5 Å   16       5         8       [256, 256]
=======  ======  =======  ========  ======  ==========

**Ensembles.** ``committee_size`` N > 1 (or ``ensemble_members``) gives a *shallow* ensemble: one
descriptor and network, N last-layer readouts (apax ``model.ensemble: {kind: shallow, n_members: N}``),
trained by default on the MSE of the members' mean (``ensemble_loss: mse``; the members' spread then
comes from their different initial readouts), or with apax's probabilistic losses (``nll``, ``crps``)
that fit the spread to the errors: on 20 Cu/Au frames NLL left the forces unlearnt after 30 epochs
(RMSE 1.36 eV/Å = the labels' RMS), while MSE and CRPS reached 0.36 and 0.35 eV/Å in 15. Its N member energies E_k and forces F_k = −∂E_k/∂r give ilforge's
committee statistics (:func:`ilforge.models.committee.committee_statistics`, ddof = 0).

Loss (``mse``): w_E ⟨(ΔE/N)²⟩ + w_F ⟨ΔF²⟩ (eV per atom, eV/Å per component; apax weights w_E and
w_F/3 with ``atoms_exponent`` 2 and 1). Stress is predicted (σ = (1/V) ∂E/∂ε) but never trained:
apax 0.14's training-time stress strains only part of each pair vector (not the periodic image
offset), so a stress loss would fit a wrong derivative; ``stress_weight`` is ignored with a warning.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ilforge.models.settings import TrainingSettings, preset_with_overrides

PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(r_max_A=5.0, n_basis=8, n_radial=4, n_contr=8, nn=[64, 64]),
    "medium": dict(r_max_A=5.5, n_basis=16, n_radial=5, n_contr=8, nn=[256, 256]),
}

ARCHITECTURE_KEYS = ("r_max_A", "n_basis", "n_radial", "n_contr", "nn")


class ApaxSettings(TrainingSettings):
    """apax (GMNN descriptor + MLP, optional shallow ensemble) training: the common settings plus sizes."""

    backend: Literal["apax"] = "apax"
    preset: Literal["small", "medium"] = Field("small", description="size preset (cutoff, basis, network widths; "
                                               "module docstring); learning_rate defaults to 1e-3 here")
    learning_rate: float = Field(1e-3, gt=0, description="learning rate of the network and embedding (apax nn_lr, emb_lr); "
                                 "linear decay over the fit")
    r_max_A: float | None = Field(None, gt=0, description="descriptor cutoff, Å (None: preset)")
    n_basis: int | None = Field(None, ge=1, description="Bessel basis functions (None: preset)")
    n_radial: int | None = Field(None, ge=1, description="contracted radial functions (None: preset)")
    n_contr: int | None = Field(None, ge=1, le=8, description="Gaussian-moment contractions, 1..8 (None: preset)")
    nn: list[int] | None = Field(None, min_length=1, description="hidden layer widths of the readout MLP (None: preset)")
    ensemble_members: int | None = Field(None, ge=2, description="shallow-ensemble members (None: committee_size when > 1, "
                                         "else a single model)")
    ensemble_loss: Literal["mse", "nll", "crps"] = Field("mse", description="energy/force loss of a shallow ensemble "
                                                         "(MSE of the mean, or apax's probabilistic Gaussian NLL or CRPS)")
    threads: int | None = Field(None, ge=1, description="CPU threads of the apax processes (XLA/OpenMP; None: its default)")

    @field_validator("nn")
    @classmethod
    def _positive_widths(cls, value):
        if value is not None and any(int(w) < 1 for w in value):
            raise ValueError(f"nn: every hidden width must be >= 1, got {value}")
        return value

    def architecture(self) -> dict[str, Any]:
        """The preset's architecture with the explicit overrides applied."""
        return preset_with_overrides(self, PRESETS, ARCHITECTURE_KEYS)

    def n_members(self) -> int:
        """Shallow-ensemble size: ``ensemble_members``, else ``committee_size`` (1: no ensemble)."""
        return int(self.ensemble_members or self.committee_size)
