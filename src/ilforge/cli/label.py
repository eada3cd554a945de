"""``ilforge label RECIPE --workdir DIR``: reference labels for the project's frames."""

from __future__ import annotations

import argparse

from ilforge.cli._args import checked_workdir, positive_int
from ilforge.errors import EXIT_PARTIAL

VERB = "label"
HELP = "label frames with the reference method (xTB, CP2K, QE, classical, ASE), resumably, in parallel"
ORDER = 40
DESCRIPTION = (
    "Label the frames of DIR/frames.db and DIR/boxes/*.extxyz (plus the recipe's data strategies) with "
    "labels.labeler at its level of theory. Results are written as they arrive: interrupt at any time and "
    "run the same command again to continue."
)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="recipe.yaml")
    parser.add_argument("--workdir", required=True, help="project directory (holds frames.db, boxes/)")
    parser.add_argument("--workers", type=positive_int, default=None, help="worker processes (overrides the compute file)")
    parser.add_argument("--compute", default=None, help="compute.yaml: local pool or Dask (see docs/labelling.md)")
    parser.add_argument("--retry-failed", action="store_true", help="reset failed frames and try them again")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on the terminal (the status file WORKDIR/progress/label.json is still written)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.engine.compute import load_compute
    from ilforge.progress import set_terminal
    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.reference.stage import run_label

    if args.no_progress:
        set_terminal(False)
    recipe = load_recipe(args.recipe)
    project = Project(checked_workdir(args.workdir, must_exist=True))
    compute = load_compute(args.compute, args.workers)
    result = run_label(project, recipe, compute=compute, retry_failed=args.retry_failed)
    _print(result)
    return 0 if result.run.failed == 0 else EXIT_PARTIAL


def _print(result) -> None:
    plan, run, counts = result.plan, result.run, result.status
    print(f"level of theory: {plan.level_of_theory}")
    print(f"selected {plan.selected} sampled frames; {plan.new_requests} new label requests, {plan.jobs} strategy jobs")
    if plan.isolated:
        print("isolated energies (eV): " + ", ".join(f"{k} {v:.4f}" for k, v in plan.isolated.items()))
    if plan.isolated_error:
        print(f"warning: isolated energies failed: {plan.isolated_error}")
    rate = run.done / run.wall_s * 60 if run.wall_s > 0 else 0.0
    print(f"this run: {run.done} done, {run.failed} failed for good, {run.failed_attempts} failed "
          f"attempts, {run.new_frames} frames from strategies, {run.wall_s:.1f} s ({rate:.1f} tasks/min)")
    print(f"store: {counts['done']} labelled, {counts['pending']} pending, {counts['failed']} failed "
          f"(`--retry-failed` to try failed frames again)")
