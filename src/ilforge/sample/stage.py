"""The ``sample`` stage: classical MD snapshots of every composition and temperature."""

from __future__ import annotations

from dataclasses import dataclass, field

from ilforge.project import Project
from ilforge.sample.runner import SampleSummary, sample_recipe


@dataclass
class SampleResult:
    runs: list[SampleSummary] = field(default_factory=list)

    def summary(self) -> dict:
        return {"runs": [{"composition_id": s.composition_id, "temperature_K": s.temperature_K, "n_frames": s.n_frames,
                          "mean_density_g_cm3": s.mean_density_g_cm3, "ns_per_day": s.ns_per_day} for s in self.runs]}


def run_sample(project: Project, recipe, *, compositions: list[str] | None = None, progress=None) -> SampleResult:
    """Sample ``recipe`` into ``project`` (:func:`ilforge.sample.runner.sample_recipe`); finished runs
    with unchanged settings are kept. ``progress(run, t_ps, total_ps)`` as MD advances."""
    return SampleResult(sample_recipe(recipe, project, compositions=compositions, progress=progress))
