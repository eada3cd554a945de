"""The learn stage: ``run_learn(project, recipe) -> LearnResult`` (``ilforge learn`` and ``ilforge run``).

Runs only when the recipe has a ``learning:`` section (else the result says it was skipped). The
loop (:mod:`ilforge.learn.loop`) trains generation committees under ``models/<model_name>/gen_<k>``
(``training.model_name``), explores the MD state points (compositions: ``md.compositions``, default
the training compositions, else all; temperatures ``learning.temperatures_K``, default
``md.temperatures_K`` or the recipe's, plus ``learning.extra_temperatures_K``; NPT pressures
``md.pressures_bar``), starting from the structure the md stage would use (:func:`ilforge.md.stage.md_start`),
and labels the selected frames with the recipe's labeler into the frame store. The frames it labels
are then part of what the ``train`` stage fits. ``results/learning.json`` records every generation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ilforge.engine.compute import ComputeSettings
from ilforge.errors import IlforgeError
from ilforge.learn.loop import ExplorationPoint, LearnContext, LearnRecord, run_loop
from ilforge.learn.settings import LearningSettings
from ilforge.md.runner import state_points
from ilforge.md.stage import md_compositions, md_settings, md_start
from ilforge.models.stage import training_settings
from ilforge.project import GENERIC_FF_CACHE, LEARNING, Project, writes_project
from ilforge.reference.label_task import LabelerSpec
from ilforge.reference.registry import needs_recipe
from ilforge.reference.stage import level_of_theory

log = logging.getLogger(__name__)


@dataclass
class LearnResult:
    """What the learn stage did (``skipped`` without a ``learning:`` section)."""

    skipped: bool = False
    record: LearnRecord | None = None
    generations: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        if self.skipped or self.record is None:
            return {"skipped": True, "reason": "the recipe has no learning: section"}
        last = self.record.generations[-1] if self.record.generations else {}
        return {"status": self.record.status, "generations": len(self.record.generations), "labels": self.record.labels,
                "n_initial": self.record.n_initial, "stable": last.get("stable"),
                "off_window_fraction": last.get("off_window_fraction")}


def exploration_points(project: Project, recipe, settings: LearningSettings) -> list[ExplorationPoint]:
    """Composition × temperature × pressure of the exploration, with their starting structures."""
    md = md_settings(recipe)
    temps = list(settings.temperatures_K or md.temperatures_K or recipe.temperatures_K)
    temps += [t for t in settings.extra_temperatures_K if t not in temps]
    points = []
    for comp in md_compositions(recipe):
        for sp in state_points(md, temps):
            start = md_start(project, recipe, comp.id, sp.temperature_K)
            if not start.is_file():
                raise IlforgeError(f"learning: no starting structure for {comp.id} at {sp.temperature_K:g} K ({start}); "
                                   "run `ilforge build` and `ilforge sample` first (or `ilforge run`)")
            points.append(ExplorationPoint(comp.id, sp.temperature_K, sp.pressure_bar, str(start)))
    return points


def _span_check(recipe):
    from ilforge.plan.planner import plan_recipe

    def check(cids: list[str]) -> bool | None:
        try:
            return bool(plan_recipe(recipe, cids).to_dict()["spans_targets"])
        except IlforgeError as exc:
            log.warning("learning: the planner's check failed (%s)", exc)
            return None

    return check


def learn_context(project: Project, recipe, *, workers: int = 1, compute: ComputeSettings | None = None) -> LearnContext:
    """The loop's inputs resolved from the recipe (see the module docstring)."""
    settings = recipe.learning
    training = training_settings(recipe)
    cache = project.cache_dir(GENERIC_FF_CACHE) if needs_recipe(recipe.labels.labeler) else None
    return LearnContext(
        project=project, settings=settings, training=training, md=md_settings(recipe),
        points=exploration_points(project, recipe, settings), labeler=LabelerSpec.from_recipe(recipe, cache),
        level_of_theory=level_of_theory(project, recipe), model_name=training.model_name,
        seed=int(settings.seed if settings.seed is not None else recipe.seed), max_attempts=recipe.labels.max_attempts,
        workers=workers, compute=compute, span_check=_span_check(recipe))


@writes_project("learn")
def run_learn(project: Project, recipe, *, workers: int = 1, compute: ComputeSettings | None = None,
              on_generation=None) -> LearnResult:
    """Run the active-learning loop of ``recipe.learning`` (skipped without it); writes ``results/learning.json``.
    ``workers``: state points explored (and committee members trained) at once; ``compute``: where labels
    run (default one local worker); ``on_generation(state)`` after each generation."""
    if getattr(recipe, "learning", None) is None:
        log.info("learn: the recipe has no learning: section; skipped")
        return LearnResult(skipped=True)
    ctx = learn_context(project, recipe, workers=workers, compute=compute)
    if not project.frames_db.is_file():
        raise IlforgeError(f"learning: no frame store at {project.frames_db}; run `ilforge label` first (the initial "
                           "labelled frames), or `ilforge run`")

    def progress(record: LearnRecord, state: dict) -> None:
        project.write_results(LEARNING, {**record.document(), "status": "running",
                                         "settings": ctx.settings.model_dump(mode="json")})
        if on_generation is not None:
            on_generation(state)

    record = run_loop(ctx, progress)
    project.write_results(LEARNING, {**record.document(), "settings": ctx.settings.model_dump(mode="json")})
    return LearnResult(False, record, record.generations)
