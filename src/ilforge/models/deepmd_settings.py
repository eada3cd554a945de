"""Settings of the DeePMD backend (recipe ``training:`` with ``backend: deepmd``; TensorFlow backend).

The model is DeePMD's smooth two-body descriptor ``se_e2_a`` (Zhang et al., NeurIPS 2018) and an
energy fitting net: E = Σ_i E0[Z_i] + Σ_i [N_Z(D_i) − N_Z(0)], where D_i is atom i's descriptor
within ``rcut_A`` (switched off smoothly from ``rcut_smth_A``), N_Z the fitting net of i's element;
the vacuum term N_Z(0) is removed (DeePMD's ``atom_ener`` = 0) so an isolated atom has exactly E0.

Size presets (every field can be overridden one by one):

========  =============  ===========  =================  =========
preset    rcut/Å         embedding    axis_neuron        fitting
========  =============  ===========  =================  =========
small     6.0 (smth 0.5) [10, 20, 40] 4                  [60, 60]
medium    6.0 (smth 0.5) [25, 50, 100] 12                [240, 240, 240]
========  =============  ===========  =================  =========

``sel`` (the maximum number of neighbours per element within ``rcut_A``) is estimated from the
training frames when not given (:func:`ilforge.models.deepmd_backend.estimate_sel`). DeePMD counts
training in steps (one batch each): ``numb_steps = ceil(max_epochs × n_train / batch_size)``; the
learning rate decays exponentially from ``learning_rate`` to ``stop_lr``. Loss weights are ilforge's
(energy per atom, forces, stress) held constant over the fit (DeePMD's start = limit prefactors).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ilforge.models.settings import TrainingSettings, preset_with_overrides

PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(rcut_A=6.0, rcut_smth_A=0.5, embedding_neuron=[10, 20, 40], axis_neuron=4, fitting_neuron=[60, 60]),
    "medium": dict(rcut_A=6.0, rcut_smth_A=0.5, embedding_neuron=[25, 50, 100], axis_neuron=12, fitting_neuron=[240, 240, 240]),
}

ARCHITECTURE_KEYS = ("rcut_A", "rcut_smth_A", "embedding_neuron", "axis_neuron", "fitting_neuron")


class DeepmdSettings(TrainingSettings):
    """DeePMD-kit (TensorFlow) training: the common settings plus descriptor and fitting-net sizes."""

    backend: Literal["deepmd"] = "deepmd"
    preset: Literal["small", "medium"] = Field("small", description="size preset (descriptor and fitting-net sizes, cutoff 6 Å); learning_rate defaults to 1e-3 here")
    learning_rate: float = Field(1e-3, gt=0, description="starting learning rate (DeePMD start_lr)")
    stop_lr: float = Field(1e-5, gt=0, description="learning rate at the last step (DeePMD stop_lr)")
    rcut_A: float | None = Field(None, gt=0, description="descriptor cutoff, Å (None: preset)")
    rcut_smth_A: float | None = Field(None, ge=0, description="where the smooth switch-off starts, Å (None: preset)")
    embedding_neuron: list[int] | None = Field(None, description="embedding-net layer sizes (None: preset)")
    axis_neuron: int | None = Field(None, ge=1, description="axis neurons of se_e2_a (None: preset)")
    fitting_neuron: list[int] | None = Field(None, description="fitting-net layer sizes (None: preset)")
    sel: dict[str, int] | None = Field(None, description="max neighbours per element within rcut_A (None: estimated from the frames)")
    threads: int | None = Field(None, ge=1, description="OpenMP/TensorFlow threads of the DeePMD processes (None: its default)")

    def architecture(self) -> dict[str, Any]:
        """The preset's architecture with the explicit overrides applied."""
        return preset_with_overrides(self, PRESETS, ARCHITECTURE_KEYS)
