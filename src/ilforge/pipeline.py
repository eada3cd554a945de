"""Stage order and resumability of ``ilforge run``.

:data:`STAGES` is the order; each :class:`Stage` names the function that runs it,
``run_<stage>(project, recipe) -> <Stage>Result`` in its package's ``stage`` module (the same function
the CLI verb calls), and its inputs: the recipe sections it reads plus the stage before it. Its
*input hash* chains sha256(sections, previous stage's hash), so a change upstream reruns
everything downstream, and an unchanged stage is skipped. A *side* stage (the pre-flight reference
check) hashes its inputs the same way but is not a link of the chain: it writes only its own
results, so running it again (other check settings) leaves the later stages up to date. An
*optional* stage (active learning) whose recipe sections are absent is not a link either. The state lives in
the project's ``pipeline.json`` and is written atomically after each stage; a crash or Ctrl-C in
the middle of a stage leaves it ``running``/``failed`` and the next run redoes it — the stages
themselves keep finished work (boxes, labelled frames, trained models, MD checkpoints), so
a redo resumes rather than restarts.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ilforge.errors import CorruptFileError, IlforgeError
from ilforge.jsonio import write_json_atomic
from ilforge.project import Project, writes_project

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: ``function`` ("module:name", imported when the stage runs, or the function
    itself) is ``run_<stage>(project, recipe)``, whose
    result's ``summary()`` (a JSON-able dict) is kept in pipeline.json; ``sections`` are the recipe
    sections it reads; ``side`` marks a stage no later stage depends on (not a link of the hash chain)."""

    name: str
    sections: tuple[str, ...]
    function: str | Callable
    description: str = ""
    side: bool = False
    optional: bool = False

    def is_link(self, recipe_data: dict) -> bool:
        """Whether this stage's hash feeds the next stage's: not for a side stage, nor for an optional
        stage whose recipe sections are all absent (it does nothing, so adding it to the pipeline
        leaves existing projects' later stages up to date)."""
        if self.side:
            return False
        return not (self.optional and all(recipe_data.get(s) is None for s in self.sections))

    def run(self, project: Project, recipe) -> dict:
        fn = self.function
        if isinstance(fn, str):
            module, _, attr = fn.partition(":")
            fn = getattr(importlib.import_module(module), attr)
        result = fn(project, recipe)
        return result.summary() if result is not None else {}


STAGES: list[Stage] = [
    Stage("plan", ("components", "species", "box", "scan", "compositions", "training_compositions"),
          "ilforge.plan.stage:run_plan", "composition planner"),
    Stage("build", ("seed", "species", "components", "box", "temperatures_K", "scan", "compositions"),
          "ilforge.build.stage:run_build", "packed boxes"),
    Stage("check", ("forcefield", "sampling", "labels", "reference_check"), "ilforge.reference.stage:run_check",
          "pre-flight reference check", side=True),
    Stage("sample", ("forcefield", "sampling", "pressure_bar"), "ilforge.sample.stage:run_sample", "classical MD sampling"),
    Stage("label", ("labels",), "ilforge.reference.stage:run_label", "reference labels"),
    Stage("learn", ("learning",), "ilforge.learn.stage:run_learn", "active learning (recipe section learning:)",
          optional=True),
    Stage("train", ("training",), "ilforge.models.stage:run_train", "MLIP training"),
    Stage("validate", (), "ilforge.validate.stage:run_validate", "test-set errors"),
    Stage("md", ("md",), "ilforge.md.stage:run_md", "MLIP molecular dynamics"),
    Stage("analyze", ("analysis",), "ilforge.analysis.stage:run_analyze", "properties vs experiment"),
    Stage("report", (), "ilforge.report.stage:run_report", "HTML report"),
]


@dataclass
class StageState:
    status: str = "pending"  # pending | running | done | failed
    input_hash: str | None = None
    started: float | None = None
    finished: float | None = None
    wall_s: float | None = None
    summary: dict = field(default_factory=dict)
    error: str | None = None


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stage_input_hashes(recipe, stages: list[Stage]) -> dict[str, str]:
    """Chained input hash of every stage (see module docstring)."""
    data = recipe.model_dump(mode="json")
    hashes: dict[str, str] = {}
    previous = ""
    for st in stages:
        h = _hash({"stage": st.name, "sections": {s: data.get(s) for s in st.sections}, "previous": previous})
        hashes[st.name] = h
        if st.is_link(data):
            previous = h
    return hashes


def load_state(project: Project) -> dict[str, StageState]:
    path = project.state_file
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise TypeError(f"expected a mapping of stage -> state, got {type(raw).__name__}")
        return {str(name): _stage_state(name, st) for name, st in raw.items()}
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError, ValueError) as exc:
        raise CorruptFileError(f"{path} is corrupt ({exc}); delete it to rerun every stage") from None


_STATE_TYPES = {"status": str, "input_hash": (str, type(None)), "started": (int, float, type(None)),
                "finished": (int, float, type(None)), "wall_s": (int, float, type(None)), "summary": dict,
                "error": (str, type(None))}


def _stage_state(name, raw) -> StageState:
    """One stage's state from pipeline.json, every field checked against its type."""
    if not isinstance(raw, dict):
        raise TypeError(f"stage {name!r}: expected a mapping, got {type(raw).__name__}")
    for key, value in raw.items():
        if key not in _STATE_TYPES:
            raise TypeError(f"stage {name!r}: unknown field {key!r}")
        if not isinstance(value, _STATE_TYPES[key]) or isinstance(value, bool):
            raise TypeError(f"stage {name!r}: field {key!r} has the wrong type ({type(value).__name__})")
    if raw.get("status", "pending") not in ("pending", "running", "done", "failed"):
        raise ValueError(f"stage {name!r}: unknown status {raw['status']!r}")
    return StageState(**raw)


def save_state(project: Project, state: dict[str, StageState]) -> None:
    write_json_atomic(project.state_file, {k: v.__dict__ for k, v in state.items()}, indent=2)


def _check_names(stages: list[Stage], names: set[str]) -> None:
    known = [s.name for s in stages]
    for bad in sorted(names - set(known)):
        raise IlforgeError(f"unknown stage {bad!r}; stages are: {', '.join(known)}")


def _run_one(st: Stage, project: Project, recipe, state: dict[str, StageState], input_hash: str, names: list[str],
             on_event) -> None:
    """Run one stage, recording running → done/failed in pipeline.json; later stages become stale
    (unless the stage is not a link of the chain: :meth:`Stage.is_link`)."""
    cur = state[st.name]
    cur.status, cur.input_hash, cur.started, cur.error = "running", input_hash, time.time(), None
    link = st.is_link(recipe.model_dump(mode="json"))
    for later in (names[names.index(st.name) + 1:] if link else []):
        if later in state:
            state[later].input_hash = None  # stale: its input is about to change
    save_state(project, state)
    if on_event:
        on_event(st.name, "start", cur)
    try:
        summary = st.run(project, recipe)
    except BaseException as exc:
        cur.status = "failed"
        cur.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyboardInterrupt) else "interrupted"
        cur.finished = time.time()
        save_state(project, state)
        if on_event:
            on_event(st.name, "fail", cur)
        raise
    cur.status, cur.finished, cur.summary = "done", time.time(), summary
    cur.wall_s = cur.finished - cur.started
    save_state(project, state)
    if on_event:
        on_event(st.name, "done", cur)


@writes_project("run")
def run_stages(
    recipe,
    project: Project,
    stages: list[Stage] | None = None,
    only: list[str] | None = None,
    force: list[str] | None = None,
    on_event: Callable[[str, str, StageState], None] | None = None,
) -> dict[str, StageState]:
    """Run ``stages`` (default :data:`STAGES`) in order, skipping those done with the same input hash.

    ``only``: run just these stage names (their upstream must be done); ``force``: rerun these
    even when up to date. A stage that runs may change what the later stages read, so it marks every
    later stage stale (in pipeline.json: they rerun now, or on the next run when ``only`` leaves them
    out). ``on_event(stage, event, state)`` is called with events ``skip``, ``start``, ``done``,
    ``fail``. A failing stage stops the run (its error is recorded and raised).
    """
    stages = STAGES if stages is None else stages
    state = load_state(project)
    hashes = stage_input_hashes(recipe, stages)
    force_set = set(force or [])
    _check_names(stages, set(only or []) | force_set)
    names = [s.name for s in stages]
    for st in stages:
        cur = state.setdefault(st.name, StageState())
        up_to_date = cur.status == "done" and cur.input_hash == hashes[st.name] and st.name not in force_set
        if only and st.name not in only:
            if not up_to_date and any(names.index(o) > names.index(st.name) for o in only):
                raise IlforgeError(f"stage {st.name!r} must run before {', '.join(only)}: run `ilforge run` without --only")
            continue
        if up_to_date:
            if on_event:
                on_event(st.name, "skip", cur)
            continue
        _run_one(st, project, recipe, state, hashes[st.name], names, on_event)
    return state


def stage_status(recipe, project: Project, stages: list[Stage] | None = None) -> list[tuple[str, str, StageState]]:
    """(name, status, state) per stage: ``done``, ``stale`` (inputs changed), ``running``/``failed`` or ``pending``."""
    stages = STAGES if stages is None else stages
    state = load_state(project)
    hashes = stage_input_hashes(recipe, stages) if recipe is not None else {}
    out = []
    for st in stages:
        cur = state.get(st.name, StageState())
        status = cur.status
        if status == "done" and hashes and cur.input_hash != hashes[st.name]:
            status = "stale"
        out.append((st.name, status, cur))
    return out
