"""The ``sample`` stage: classical MD snapshots of every composition and temperature."""

from __future__ import annotations

from dataclasses import dataclass, field

from ilforge.progress import Progress
from ilforge.project import Project, writes_project
from ilforge.sample.runner import SampleSummary, sample_recipe


@dataclass
class SampleResult:
    runs: list[SampleSummary] = field(default_factory=list)

    def summary(self) -> dict:
        return {"runs": [{"composition_id": s.composition_id, "temperature_K": s.temperature_K, "n_frames": s.n_frames,
                          "mean_density_g_cm3": s.mean_density_g_cm3, "ns_per_day": s.ns_per_day} for s in self.runs]}


@writes_project("sample")
def run_sample(project: Project, recipe, *, compositions: list[str] | None = None) -> SampleResult:
    """Sample ``recipe`` into ``project`` (:func:`ilforge.sample.runner.sample_recipe`); finished runs
    with unchanged settings are kept. Progress: ps simulated / total ps over all (composition, T) runs,
    with ns/day, density and T of the current run (``Project.progress_file("sample")``, a terminal line)."""
    with Progress(0, "sample", "ps", status_path=project.progress_file("sample")) as progress:
        return SampleResult(sample_recipe(recipe, project, compositions=compositions, progress=progress))
