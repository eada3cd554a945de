"""Settings of active learning (recipe section ``learning:``; absent: the ``learn`` stage is skipped).

Generation k trains a committee of ``committee_size`` members on the labelled frames, runs
exploration MD with it at every state point, and selects frames whose committee force spread lies
in the trust window [``trust_low_eV_A``, ``trust_high_eV_A``) (DP-GEN's model deviation: the
maximum over atoms of the norm of the per-atom force standard deviation, eV/Å; Zhang et al.,
Comput. Phys. Commun. 253, 107206 (2020)). Below the window the committee agrees (accurate, skip);
above it the structure is likely unphysical (skip). The loop stops when every state point ran
``md_ps`` without a monitor firing and the fraction of candidates fell below
``converged_fraction``, or when ``generations`` or ``max_labels`` are spent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

_Temperature = Annotated[float, Field(gt=0, le=2000, allow_inf_nan=False)]


class LearningSettings(BaseModel):
    """Active learning (`ilforge learn`, docs/learning.md): per generation a committee trains, explores
    with MD at every state point, and frames whose committee force spread lies in the trust window
    (or that precede a monitor's stop) are labelled, until MD is stable or the budget is spent."""

    model_config = ConfigDict(extra="forbid")

    generations: int = Field(5, ge=1, le=100, description="most generations (train, explore, select, label)")
    committee_size: int = Field(3, ge=2, le=16, description="committee members trained per generation")
    initial_frames: int | None = Field(
        30, ge=1, description="labelled frames generation 0 trains on: that many of the store's labelled frames at the "
        "recipe's level, evenly spread over compositions (None: all)")
    frames_per_generation: int = Field(20, ge=1, description="frames selected and labelled per generation")
    max_labels: int = Field(200, ge=1, description="most frames the loop labels in all (its label budget)")
    trust_low_eV_A: float = Field(0.1, gt=0, allow_inf_nan=False,
                                  description="committee max force spread below which a frame is accurate (skipped), eV/Å")
    trust_high_eV_A: float = Field(0.5, gt=0, allow_inf_nan=False,
                                   description="spread above which a frame is unphysical (skipped), eV/Å")
    md_ps: float = Field(2.0, gt=0, le=10000, allow_inf_nan=False,
                         description="exploration MD per state point and generation, ps; a state point is stable when it runs "
                                     "this long without a monitor firing")
    save_every_steps: int = Field(10, ge=1, description="exploration frames saved (and checked by the monitors) every k steps")
    temperatures_K: list[_Temperature] | None = Field(
        None, description="exploration temperatures (default: md.temperatures_K, else the recipe's temperatures_K)")
    extra_temperatures_K: list[_Temperature] = Field(
        default_factory=list, description="further exploration temperatures, e.g. above the targets to widen coverage")
    converged_fraction: float = Field(0.05, ge=0, le=1, description="converged when the fraction of exploration frames in "
                                      "the trust window is below this (and no monitor fired)")
    failure_frames: int = Field(2, ge=0, description="frames taken from each run a monitor stopped (prioritised)")
    cut_back_steps: int = Field(20, ge=0, description="those frames lie at least this many MD steps before the failure")
    bond_break_factor: float = Field(1.3, gt=1, allow_inf_nan=False,
                                     description="frames with a bond longer than this x the covalent-radius sum are never "
                                                 "selected (broken molecules; the classical labeler refuses them)")
    descriptor_cutoff_A: float = Field(5.0, gt=0, le=20, allow_inf_nan=False,
                                       description="cutoff of the pair-distance histograms used for diversity (farthest-point sampling), Å")
    max_epochs: int | None = Field(None, ge=1, description="epochs of each generation's fit (default: training.max_epochs)")
    seed: int | None = Field(None, description="seed of the loop (default: the recipe's seed)")

    @model_validator(mode="after")
    def _check(self):
        if self.trust_high_eV_A <= self.trust_low_eV_A:
            raise ValueError(f"learning.trust_high_eV_A ({self.trust_high_eV_A:g}) must be above learning.trust_low_eV_A "
                             f"({self.trust_low_eV_A:g}): the trust window is [low, high)")
        return self
