"""The ``label`` stage: reference labels for a project's frames (``ilforge label`` and ``ilforge run``).

:func:`run_label` plans (:func:`ilforge.reference.labelling.plan_labels`: boxes, selection, data
strategies, isolated energies), runs every pending task on the compute backend
(:func:`ilforge.reference.runner.run_labelling`, task directories under the project's
``tasks/label``) and writes the ``labels`` results (:data:`ilforge.project.LABELS`). One labelling run per project at a time (a
lock); interrupt it at any time and run it again to continue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ilforge import trust
from ilforge.engine.compute import ComputeSettings, make_executor
from ilforge.progress import Progress
from ilforge.project import GENERIC_FF_CACHE, LABELS, Project, writes_project
from ilforge.reference.label_task import LabelerSpec
from ilforge.reference.labelling import LabelPlan, plan_labels
from ilforge.reference.registry import make_labeler, needs_recipe
from ilforge.reference.runner import RunSummary, run_labelling
from ilforge.store.frames import FrameStore

log = logging.getLogger(__name__)

@dataclass
class LabelResult:
    """The plan, what this run did, and the final status counts of single-point labels at the
    level of theory (``pending``/``done``/``failed``)."""

    plan: LabelPlan
    run: RunSummary
    status: dict = field(default_factory=dict)

    @property
    def level_of_theory(self) -> str:
        return self.plan.level_of_theory

    def document(self) -> dict:
        """Everything the ``labels`` results file holds."""
        p, r = self.plan, self.run
        return {
            "level_of_theory": p.level_of_theory, "selected": p.selected, "new_requests": p.new_requests,
            "strategy_jobs": p.jobs, "isolated_energies_eV": p.isolated, "isolated_error": p.isolated_error,
            "done_this_run": r.done, "failed_this_run": r.failed, "failed_attempts": r.failed_attempts,
            "wall_s": round(r.wall_s, 2), "status": self.status,
        }

    def summary(self) -> dict:
        """What ``pipeline.json`` keeps and ``ilforge run`` prints."""
        doc = self.document()
        return {k: doc[k] for k in ("level_of_theory", "done_this_run", "failed_this_run", "status")}


def _cache_dir(project: Project, recipe):
    """The generic force field's parameter cache, for labelers built from the recipe (else None)."""
    return project.cache_dir(GENERIC_FF_CACHE) if needs_recipe(recipe.labels.labeler) else None


def build_labeler(project: Project, recipe):
    """The recipe's labeler in this process (what the workers build from :class:`LabelerSpec`)."""
    return make_labeler(recipe.labels, recipe, _cache_dir(project, recipe))


def level_of_theory(project: Project, recipe) -> str:
    """The recipe's level of theory (so training never mixes labels from another level). Built in
    :func:`ilforge.trust.describing` mode: naming the level runs no recipe code."""
    with trust.describing():
        return build_labeler(project, recipe).level_of_theory


@writes_project("label")
def run_label(project: Project, recipe, *, compute: ComputeSettings | None = None,
              retry_failed: bool = False) -> LabelResult:
    """Label the project's frames (see the module docstring). ``compute``: where tasks run (default:
    one local single-thread worker per CPU, :func:`~ilforge.engine.compute.default_compute`);
    ``retry_failed``: make failed frames pending again first. Progress: tasks
    finished / to do, with rate, ETA and failures so far (``Project.progress_file("label")``, a
    terminal line)."""
    with project.lock("label", "ilforge label"):
        store = FrameStore.open(project.frames_db)
        cache = _cache_dir(project, recipe)
        labeler = make_labeler(recipe.labels, recipe, cache)
        lot = labeler.level_of_theory
        plan = plan_labels(store, recipe, labeler, project)
        if retry_failed:
            store.reset_failed(lot)
        spec = LabelerSpec.from_recipe(recipe, cache)
        with make_executor(compute) as executor, \
                Progress(0, "label", "frame", status_path=project.progress_file("label")) as progress:
            run = run_labelling(store, spec, lot, executor, project.tasks_dir("label"), recipe.labels.max_attempts,
                                progress=progress)
        result = LabelResult(plan, run, store.status_counts(lot))
    project.write_results(LABELS, result.document())
    return result


def run_check(project: Project, recipe):
    """The ``check`` stage of ``ilforge run``: the pre-flight reference check
    (:func:`ilforge.reference.check.run_reference_check`) with the recipe's ``reference_check``
    settings, before sampling and labelling; None (nothing run) when ``enabled`` is false. A method
    whose implied density error exceeds 5 % is logged as a warning before any frame is labelled."""
    from ilforge.reference.check import run_reference_check

    s = recipe.reference_check
    if not s.enabled:
        log.info("reference check skipped: reference_check.enabled is false")
        return None
    return run_reference_check(project, recipe, methods=list(s.methods), frames=s.frames,
                               thermalise_ps=s.thermalise_ps, interval_ps=s.interval_ps, own_md_steps=s.own_md_steps)
