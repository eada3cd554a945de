"""The ``plan`` stage: the composition planner's verdict on the recipe, saved for the report."""

from __future__ import annotations

from dataclasses import dataclass

from ilforge.plan.planner import Plan, plan_recipe
from ilforge.project import PLAN, Project, writes_project


@dataclass
class PlanResult:
    plan: Plan

    def summary(self) -> dict:
        d = self.plan.to_dict()
        return {k: d[k] for k in ("required_compositions", "training_rank", "spans_targets", "recommended")}


@writes_project("plan")
def run_plan(project: Project, recipe, *, train_refs: list | None = None) -> PlanResult:
    """Plan ``recipe`` (:func:`ilforge.plan.planner.plan_recipe`) and write ``results/plan.json``."""
    plan = plan_recipe(recipe, train_refs)
    project.write_results(PLAN, plan.to_dict())
    return PlanResult(plan)
