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
    _print_progress(project)
    return 0


#: stages that write a live status file (``Project.progress_file``); MLIP MD writes one per run directory
PROGRESS_STAGES = ("build", "sample", "label", "train", "transfer")


def _writer_running(project) -> bool:
    """Whether a process holds the project's write lock now (an ``ilforge`` stage is running on it)."""
    import fcntl

    from ilforge.project import WRITE_LOCK

    path = project.lock_file(WRITE_LOCK)
    if not path.is_file():
        return False
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _unfinished(project) -> list[str]:
    """The line of every stage (and MLIP MD state point) whose status file is not marked finished."""
    import time

    from ilforge.md.result import PROGRESS
    from ilforge.progress import format_duration, format_status, read_status

    paths = [project.progress_file(stage) for stage in PROGRESS_STAGES]
    paths += [run_dir / PROGRESS for cid in project.md_compositions() for run_dir in project.md_runs(cid)]
    lines = []
    for path in paths:
        doc = read_status(path)
        if doc is not None and not doc.get("finished"):
            age = time.time() - float(doc.get("updated") or 0.0)
            lines.append(f"  {format_status(doc)}  (updated {format_duration(age)} ago)")
    return lines


def _print_progress(project) -> None:
    """The live progress line of every long stage still running (``progress/<stage>.json``) and of every
    MLIP MD state point (its ``progress.json``); when no process holds the project's write lock, these
    are the last lines of runs that stopped before finishing."""
    lines = _unfinished(project)
    if lines:
        print("\nin progress:" if _writer_running(project) else "\nstopped before finishing (last progress):")
        print("\n".join(lines))
