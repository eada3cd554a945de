"""The analyze stage: ``run_analyze(project, recipe) -> AnalyzeResult`` (``ilforge run``).

For every MD composition (:func:`ilforge.md.stage.md_compositions`) the completed runs under
``Project.md_runs(composition)`` are analysed together (:func:`ilforge.analysis.driver.analyze_runs`:
per-run properties and the fits across state points) into ``results/analysis_<composition>.json``,
and compared with the experimental system (``analysis.experiment_system``, else the one matching
the composition's ions) into ``results/compare_<composition>.json``. Runs stopped by a monitor are
left out (with a warning).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ilforge.analysis.driver import analyze_runs, recipe_analysis_settings
from ilforge.experiment.compare import compare, predictions_from_analysis
from ilforge.experiment.densities import experiment_system
from ilforge.md.result import MDResult
from ilforge.md.stage import md_compositions
from ilforge.project import Project, analysis_name, compare_name, writes_project

log = logging.getLogger(__name__)


@dataclass
class CompositionAnalysis:
    """What was analysed for one composition: completed runs, the experimental system (or None),
    how many comparison rows have an experimental value; ``skipped`` says why nothing was done."""

    composition_id: str
    runs: int
    system: str | None = None
    compared: int = 0
    skipped: str | None = None

    def summary(self) -> dict:
        if self.skipped:
            return {"runs": self.runs, "skipped": self.skipped}
        return {"runs": self.runs, "system": self.system, "compared": self.compared}


@dataclass
class AnalyzeResult:
    compositions: list[CompositionAnalysis] = field(default_factory=list)

    def summary(self) -> dict:
        return {c.composition_id: c.summary() for c in self.compositions}


def completed_runs(project: Project, composition_id: str) -> list:
    """Run directories of ``composition_id`` whose run completed (a monitor stopped the others)."""
    runs = project.md_runs(composition_id)
    done = [d for d in runs if (r := MDResult.load(d)) is not None and r.completed]
    if len(done) < len(runs):
        log.warning("%s: %d MD run(s) stopped by a monitor are not analysed", composition_id, len(runs) - len(done))
    return done


def analyze_composition(project: Project, recipe, comp) -> CompositionAnalysis:
    """Analyse and compare one composition (see the module docstring)."""
    done = completed_runs(project, comp.id)
    if not done:
        return CompositionAnalysis(comp.id, 0, skipped="no completed MD run (see the md stage)")
    system = recipe.analysis.experiment_system or experiment_system(comp.counts)
    doc = analyze_runs(done, recipe_analysis_settings(recipe), system=system)
    doc["system"] = system
    project.write_results(analysis_name(comp.id), doc)
    rows = compare(system, predictions_from_analysis(doc)) if system else []
    project.write_results(compare_name(comp.id), {"system": system, "rows": rows})
    return CompositionAnalysis(comp.id, len(done), system, sum(r["experiment"] is not None for r in rows))


@writes_project("analyze")
def run_analyze(project: Project, recipe) -> AnalyzeResult:
    """Analyse the MD of every MD composition of ``recipe`` in ``project``."""
    return AnalyzeResult([analyze_composition(project, recipe, comp) for comp in md_compositions(recipe)])
