"""``ilforge learn RECIPE --workdir DIR``: active learning until MD is stable at every state point."""

from __future__ import annotations

import argparse

from ilforge.cli._args import checked_workdir, positive_int

VERB = "learn"
HELP = "active learning: train a committee, explore with MD, label where it is uncertain, repeat"
ORDER = 45
DESCRIPTION = (
    "Run the active-learning loop of the recipe's learning: section on the project DIR (after `ilforge label`): "
    "each generation trains a committee (DIR/models/NAME/gen_K), runs exploration MD at every state point, "
    "selects frames whose committee force spread is in the trust window (and frames just before a monitor "
    "stopped a run), and labels them. Resumable: interrupt at any time and run the same command again."
)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="recipe.yaml with a learning: section")
    parser.add_argument("--workdir", required=True, help="project directory (after `ilforge label`)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="state points explored and committee members trained at once (local processes)")
    parser.add_argument("--compute", default=None, help="compute.yaml: where labels run (see docs/labelling.md)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.engine.compute import load_compute
    from ilforge.errors import IlforgeError
    from ilforge.learn.stage import run_learn
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    if recipe.learning is None:
        raise IlforgeError(f"{args.recipe} has no learning: section; add one (docs/learning.md), e.g. `learning: {{generations: 3}}`")
    project = Project(checked_workdir(args.workdir, must_exist=True))
    result = run_learn(project, recipe, workers=args.workers, compute=load_compute(args.compute, None),
                       on_generation=_print_generation)
    s = result.summary()
    print(f"learning {s['status']} after {s['generations']} generation(s): {s['labels']} frames labelled by the loop "
          f"(+{s['n_initial']} initial); results in {project.results('learning')}")
    return 0


def _print_generation(state: dict) -> None:
    test = state.get("test") or {}
    rmse = test.get("forces_rmse_meV_A")
    runs = state.get("runs") or []
    stopped = [r["run"] for r in runs if r["status"] != "completed"]
    print(f"generation {state['generation']}: {state['n_train']} training frames, test force RMSE "
          f"{'-' if rmse is None else f'{rmse:.0f}'} meV/Å, {len(runs) - len(stopped)}/{len(runs)} runs stable"
          + (f" (stopped: {', '.join(stopped)})" if stopped else "")
          + f", {100 * (state.get('off_window_fraction') or 0):.0f} % frames uncertain, {len(state.get('selected', []))} selected")
