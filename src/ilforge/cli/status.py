"""`ilforge status`: what is done, pending and failed in a project directory."""

from __future__ import annotations

VERB = "status"
ORDER = 2
HELP = "show which pipeline stages of a workdir are done, stale, pending or failed"


def register(p) -> None:
    p.add_argument("workdir", help="project directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.pipeline import stage_status
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    project = Project.open(args.workdir)
    recipe = load_recipe(project.recipe_copy)
    for name, status, st in stage_status(recipe, project):
        extra = f"  ({st.wall_s:.0f} s)" if status == "done" and st.wall_s else ""
        if status == "failed":
            extra = f"  {st.error}"
        print(f"{name:<9} {status}{extra}")
    if project.frames_db.is_file():
        from ilforge.store.frames import FrameStore

        store = FrameStore.open(project.frames_db)
        print(f"\nframe store: {len(store)} frames")
        for lot in store.levels_of_theory():
            counts = store.status_counts(lot)
            print(f"  {lot}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0
