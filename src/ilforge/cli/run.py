"""`ilforge run`: every stage from recipe to report, skipping what is done."""

from __future__ import annotations

import time

from ilforge.errors import EXIT_MONITOR

VERB = "run"
ORDER = 0
HELP = "run the whole pipeline (plan ... report), resuming after any interruption"
DESCRIPTION = (
    "Runs plan, build, check (the pre-flight reference check), sample, label, train, validate, md, analyze "
    "and report in order. A stage whose "
    "recipe sections and upstream stages did not change since it last finished is skipped; an "
    "interrupted stage is redone, keeping what it had finished (boxes, labels, models, MD checkpoints)."
)


def register(p) -> None:
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--workdir", required=True, help="project directory (created if missing)")
    p.add_argument("--only", help="comma-separated stages to run (their upstream stages must be done)")
    p.add_argument("--force", help="comma-separated stages to rerun even if up to date")
    p.add_argument("--seed", type=int, default=None,
                   help="replace the recipe's seed (packing, sampling, splits, training, MD); the project's recipe "
                        "copy records it (e.g. the demo with other seeds: make demo DEMO_SEED=2 DEMO_DIR=demo-2)")
    p.set_defaults(func=run)


def _check_stage_names(stages, names) -> None:
    from ilforge.errors import IlforgeError

    known = [s.name for s in stages]
    bad = [n for n in names if n not in known]
    if bad:
        raise IlforgeError(f"--only/--force: unknown stage {bad[0]!r}; stages are: {', '.join(known)}")


def _split(text):
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def run(args) -> int:
    from ilforge.pipeline import STAGES, run_stages
    from ilforge.cli._args import checked_workdir
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    only, force = _split(args.only), _split(args.force)
    _check_stage_names(STAGES, (only or []) + (force or []))
    recipe = load_recipe(args.recipe)
    project = Project.init(checked_workdir(args.workdir), args.recipe)
    if args.seed is not None:
        recipe = recipe.model_copy(update={"seed": args.seed})
        project.record_seed(args.seed)
    t0 = time.time()
    width = max(len(s.name) for s in STAGES)

    def event(name, what, state):
        if what == "skip":
            print(f"[{name:<{width}}] up to date, skipped", flush=True)
        elif what == "start":
            print(f"[{name:<{width}}] running ...", flush=True)
        elif what == "done":
            print(f"[{name:<{width}}] done in {state.wall_s:.1f} s", flush=True)
        elif what == "fail":
            print(f"[{name:<{width}}] FAILED: {state.error}", flush=True)

    state = run_stages(recipe, project, STAGES, only=only, force=force, on_event=event)
    print(f"\nfinished in {time.time() - t0:.0f} s")
    report = state.get("report")
    if report and report.status == "done":
        print(f"report: {report.summary.get('report')}")
    md = state.get("md")
    if md and md.summary.get("stopped"):
        print("MD runs stopped by a monitor:")
        for s in md.summary["stopped"]:
            print(f"  {s}")
        return EXIT_MONITOR
    return 0
