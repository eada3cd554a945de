"""Stage order and resumability of ``ilforge run``.

Each :class:`Stage` names its inputs: the recipe sections it reads plus the stage before it. Its
*input hash* chains sha256(sections, previous stage's hash), so a change upstream reruns
everything downstream, and an unchanged stage is skipped. The state lives in
``<workdir>/pipeline.json`` and is written atomically after each stage; a crash or Ctrl-C in
the middle of a stage leaves it ``running``/``failed`` and the next run redoes it — the stages
themselves keep finished work (boxes, labelled frames, trained models, MD checkpoints), so
a redo resumes rather than restarts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ilforge.errors import IlforgeError

log = logging.getLogger(__name__)

STATE_FILE = "pipeline.json"


@dataclass(frozen=True)
class Stage:
    """One pipeline stage. ``run(recipe, workdir) -> dict`` returns a JSON-able summary."""

    name: str
    sections: tuple[str, ...]
    run: Callable
    description: str = ""


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
        previous = h
    return hashes


def load_state(workdir: str | Path) -> dict[str, StageState]:
    path = Path(workdir) / STATE_FILE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise IlforgeError(f"{path} is corrupt ({exc}); delete it to rerun every stage") from None
    return {name: StageState(**st) for name, st in raw.items()}


def save_state(workdir: str | Path, state: dict[str, StageState]) -> None:
    path = Path(workdir) / STATE_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({k: v.__dict__ for k, v in state.items()}, indent=2, default=str))
    os.replace(tmp, path)


def run_stages(
    recipe,
    workdir: str | Path,
    stages: list[Stage],
    only: list[str] | None = None,
    force: list[str] | None = None,
    on_event: Callable[[str, str, StageState], None] | None = None,
) -> dict[str, StageState]:
    """Run ``stages`` in order, skipping those done with the same input hash.

    ``only``: run just these stage names (their upstream must be done); ``force``: rerun these
    even when up to date. A stage that runs may change what the later stages read, so it marks every
    later stage stale (in pipeline.json: they rerun now, or on the next run when ``only`` leaves them
    out). ``on_event(stage, event, state)`` is called with events ``skip``, ``start``, ``done``,
    ``fail``. A failing stage stops the run (its error is recorded and raised).
    """
    workdir = Path(workdir)
    state = load_state(workdir)
    hashes = stage_input_hashes(recipe, stages)
    force = set(force or [])
    names = [s.name for s in stages]
    for bad in set(only or []) | force:
        if bad not in names:
            raise IlforgeError(f"unknown stage {bad!r}; stages are: {', '.join(names)}")
    for st in stages:
        cur = state.setdefault(st.name, StageState())
        up_to_date = cur.status == "done" and cur.input_hash == hashes[st.name] and st.name not in force
        if only and st.name not in only:
            if not up_to_date and any(names.index(o) > names.index(st.name) for o in only):
                raise IlforgeError(f"stage {st.name!r} must run before {', '.join(only)}: run `ilforge run` without --only")
            continue
        if up_to_date:
            if on_event:
                on_event(st.name, "skip", cur)
            continue
        cur.status, cur.input_hash, cur.started, cur.error = "running", hashes[st.name], time.time(), None
        for later in names[names.index(st.name) + 1:]:
            if later in state:
                state[later].input_hash = None  # stale: its input is about to change
        save_state(workdir, state)
        if on_event:
            on_event(st.name, "start", cur)
        try:
            summary = st.run(recipe, workdir) or {}
        except BaseException as exc:
            cur.status = "failed"
            cur.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyboardInterrupt) else "interrupted"
            cur.finished = time.time()
            save_state(workdir, state)
            if on_event:
                on_event(st.name, "fail", cur)
            raise
        cur.status, cur.finished, cur.summary = "done", time.time(), summary
        cur.wall_s = cur.finished - cur.started
        save_state(workdir, state)
        if on_event:
            on_event(st.name, "done", cur)
    return state


def stage_status(recipe, workdir: str | Path, stages: list[Stage]) -> list[tuple[str, str, StageState]]:
    """(name, status, state) per stage: ``done``, ``stale`` (inputs changed), ``running``/``failed`` or ``pending``."""
    state = load_state(workdir)
    hashes = stage_input_hashes(recipe, stages) if recipe is not None else {}
    out = []
    for st in stages:
        cur = state.get(st.name, StageState())
        status = cur.status
        if status == "done" and hashes and cur.input_hash != hashes[st.name]:
            status = "stale"
        out.append((st.name, status, cur))
    return out
