"""`ilforge status`: what is done, pending and failed in a project directory."""

from __future__ import annotations

from pathlib import Path

VERB = "status"
ORDER = 2
HELP = "show which pipeline stages of a workdir are done, stale, pending or failed"


def register(p) -> None:
    p.add_argument("workdir", help="project directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.errors import IlforgeError
    from ilforge.pipeline import stage_status
    from ilforge.recipe import load_recipe
    from ilforge.stages import STAGES
    from ilforge.workdir import FRAMES_DB, RECIPE_COPY

    wd = Path(args.workdir)
    if not (wd / RECIPE_COPY).is_file():
        raise IlforgeError(f"{wd} is not an ilforge project (no {RECIPE_COPY}); start one with `ilforge run RECIPE --workdir {wd}`")
    recipe = load_recipe(wd / RECIPE_COPY)
    for name, status, st in stage_status(recipe, wd, STAGES):
        extra = f"  ({st.wall_s:.0f} s)" if status == "done" and st.wall_s else ""
        if status == "failed":
            extra = f"  {st.error}"
        print(f"{name:<9} {status}{extra}")
    if (wd / FRAMES_DB).is_file():
        from ilforge.store.frames import FrameStore

        store = FrameStore.open(wd / FRAMES_DB)
        print(f"\nframe store: {len(store)} frames")
        for lot in store.levels_of_theory():
            counts = store.status_counts(lot)
            print(f"  {lot}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0
