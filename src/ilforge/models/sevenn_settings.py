"""Settings of the SevenNet backend (recipe ``training:`` with ``backend: sevenn``).

SevenNet (Park et al., J. Chem. Theory Comput. 20, 4857 (2024)) is a NequIP-style E(3)-equivariant
network; its energy is E = Σ_i [s_Z · ε_i + μ_Z] (eV), with ε_i the network's output for atom i and
per-element scale s_Z and shift μ_Z. ilforge uses its pretrained foundation models (``7net-0``:
SevenNet-0, trained on PBE/PBE+U MPtrj; cutoff 5 Å, 5 interaction layers, 0.84 M parameters), which
ship in sevenn's wheel:

========== ==============================================================================
preset     what ``ilforge train`` does
========== ==============================================================================
zero_shot  no training: the artifact is the foundation model itself (``foundation_model``)
fine_tune  sevenn's ``fine_tune`` preset (written by ilforge) started from the foundation model
           after refitting its shifts μ_Z to the labels' level of theory (``refit_shifts``)
scratch    sevenn's ``base`` preset from random weights (the from-scratch arm of the comparison:
           the same architecture family, no pretraining): ``channel``, ``lmax``,
           ``num_convolution_layer``, ``cutoff_A``; shifts from sevenn's per-element fit
           (``elemwise_reference_energies``), scale = RMS force; after training the shifts are
           refitted as above, so combinations the frames leave undetermined take isolated-atom values
========== ==============================================================================

Shift refit (before fine-tuning): with the count matrix N (frames × elements) and the residuals
r_f = E_ref,f − E_7net,f (eV), the shifts change by δ = argmin ||N δ − r||² (least squares, as
:func:`ilforge.models.e0s.fit_e0s`); combinations the frames leave undetermined (a neat ionic
liquid has rank 1) take the isolated-atom differences E0_ref[Z] − E_7net(isolated Z) projected on
the null space of N when ilforge has isolated-atom energies, else stay at the foundation model's
values (minimum-norm solution). Without it, SevenNet-0's PBE shifts leave energies tens of eV/atom
off on xTB or classical labels and fine-tuning does not recover.

Loss (sevenn's): Huber(δ = 0.01) of energy per atom + ``forces_weight/energy_weight`` × forces +
stress term with weight ``sevenn_stress_weight`` (sevenn's stress is in kbar) when every training frame
has a stress label. The learning rate decays exponentially (γ = 0.99 per epoch).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ilforge.models.settings import TrainingSettings


class SevennSettings(TrainingSettings):
    """SevenNet: zero-shot foundation model, fine-tuning with refitted per-element shifts, or from scratch."""

    #: ``foundation_model`` names a model shipped in sevenn's wheel, resolved in its environment (not a path)
    foundation_is_path: ClassVar[bool] = False

    backend: Literal["sevenn"] = "sevenn"
    preset: Literal["zero_shot", "fine_tune", "scratch"] = Field(
        "fine_tune", description="zero_shot: use the foundation model as it is; fine_tune: refit shifts, then train; "
                                 "scratch: SevenNet's architecture from random weights (channel, lmax, num_convolution_layer, cutoff_A)")
    foundation_model: str = Field("7net-0", pattern=r"^[A-Za-z0-9_.\-]+$",
                                  description="pretrained SevenNet shipped with sevenn (7net-0, 7net-l3i5)")
    modal: str | None = Field(None, description="fidelity of a multi-fidelity model (7net-mf-0: e.g. PBE); None for 7net-0")
    refit_shifts: bool = Field(True, description="refit the per-element energy shifts to the labels (before fine-tuning; after training from scratch)")
    learning_rate: float = Field(0.004, gt=0, description="Adam learning rate (sevenn's fine_tune preset: 0.004)")
    max_epochs: int = Field(20, ge=1, description="fine-tuning (or from-scratch) epochs")
    channel: int = Field(32, ge=1, description="scratch: multiplicity of the node features (sevenn's base preset: 32)")
    lmax: int = Field(2, ge=0, le=3, description="scratch: largest rotation order of the features (base: 2)")
    num_convolution_layer: int = Field(3, ge=1, description="scratch: message-passing layers (base: 3)")
    cutoff_A: float = Field(5.0, gt=0, description="scratch: cutoff radius, Å (base: 5.0)")
    dtype: Literal["float32"] = Field("float32", description="SevenNet runs in float32 only (sevenn refuses double)")
    sevenn_stress_weight: float = Field(0.01, ge=0, description="sevenn's stress-loss weight (stress in kbar; preset 0.01)")
    threads: int | None = Field(None, ge=1, description="torch threads of the SevenNet processes (None: torch's default)")
