"""`ilforge plan`: which compositions must be sampled for energies to transfer."""

from __future__ import annotations

import json

VERB = "plan"
ORDER = 10
HELP = "composition planner: rank test C = N - M, span of the training set, recommended compositions"
DESCRIPTION = (
    "Rank analysis of the recipe's compositions (see DESIGN.md, 'transferability'): how many linearly "
    "independent compositions energies need (C = N - M), whether the training compositions span the "
    "targets, which per-species energy combinations stay undetermined, a recommended minimal set, and "
    "whether per-element reference energies could be fitted."
)


def register(p) -> None:
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument(
        "--train",
        help="training compositions, comma-separated ids or scan values (e.g. 0.4,0.6); default: the recipe's",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--workdir", help="also save the plan in this project (results/plan.json), as `ilforge run` does")
    p.set_defaults(func=run)


def _refs(text: str | None):
    if text is None:
        return None
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            out.append(float(item))
        except ValueError:
            out.append(item)
    return out


def run(args) -> int:
    from ilforge.cli._args import checked_workdir
    from ilforge.plan.planner import plan_recipe
    from ilforge.plan.stage import run_plan
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    if args.workdir:
        plan = run_plan(Project.init(checked_workdir(args.workdir), args.recipe), recipe, train_refs=_refs(args.train)).plan
    else:
        plan = plan_recipe(recipe, _refs(args.train))
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"species: {', '.join(plan.species)}  (N = {plan.n_species})")
    print(f"constraints (M = {plan.n_constraints}):")
    for c in plan.constraints:
        print(f"  {c}")
    print(f"required linearly independent compositions: C = {plan.required_compositions}")
    if plan.training:
        print(f"training: {', '.join(plan.training)} (rank {plan.training_rank}); spans targets: {'yes' if plan.spans_targets else 'NO'}")
        for d in plan.determined:
            print(f"  fixed by the data: {d}")
        for u in plan.undetermined:
            print(f"  undetermined: {u}")
    for g in plan.gauge:
        print(f"  always free: {g}")
    print(f"recommended training compositions: {', '.join(plan.recommended) or '(none)'}")
    print()
    for m in plan.messages:
        print(m)
    return 0
