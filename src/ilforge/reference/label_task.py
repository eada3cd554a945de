"""One label task as files, run as ``python -m ilforge.reference.label_task DIR``.

A label task is a directory (:mod:`ilforge.engine.task`) holding

``frame.extxyz``
    the frame (numbers, positions Å, cell Å, pbc; per-atom arrays such as ``mol_id`` and
    ``mol_species``; info ``frame_hash``, ``composition_id``, ``temperature_K``, ``config_type``);
``task.json``
    ``{"labeler": <labeler spec>, "task": "single_point" | "reference_md:{...}" | "relax:{...}"}``.
    The labeler spec (:class:`LabelerSpec`) is data: the recipe's ``labels`` section and, for a
    labeler built from the recipe (the classical force field), what it takes from the recipe as
    plain data (its ``recipe_context``) and the cache directory of its parameters. Workers never
    read the recipe.

:func:`main` labels the frame (single point) or runs the strategy job from it (see
:mod:`ilforge.reference.strategies`) and writes

``labelled.extxyz``
    the frames a strategy job made (geometry and metadata; no labels), then
``result.json``
    ``{"ok", "reason", "retryable", "seconds", "labels": {...} | null, "frames": [{...}, ...]}``:
    labels as :meth:`ilforge.labels.Labels.to_dict` (energy eV, forces eV/Å, stress eV/Å³), one
    per frame of ``labelled.extxyz``. Written last: its presence marks the task finished.

A failed label (SCF not converged, a crash inside the labeler) is a result (``ok: false`` with the
reason and whether a retry may help), never an exception, so the parent can record it. The labeler
is built once per process and cached by its spec: in a worker that runs tasks in-process
(:func:`ilforge.engine.task.run_file_task`), a CP2K shell stays up from one task to the next.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ilforge import keys
from ilforge.engine.task import FileTask, python_task, read_result_json, read_task_json, write_result_json, write_task_json
from ilforge.labels import LabelError, Labels
from ilforge.store.frames import SINGLE_POINT

MODULE = "ilforge.reference.label_task"
FRAME_FILE = "frame.extxyz"
FRAMES_OUT = "labelled.extxyz"
#: the frame metadata a task carries (info); per-atom arrays travel whole
_TASK_INFO = (keys.FRAME_HASH, keys.COMPOSITION_ID, keys.TEMPERATURE_K, keys.CONFIG_TYPE)

_LABELERS: dict[str, object] = {}


@dataclass(frozen=True)
class LabelerSpec:
    """How a worker builds the labeler: the ``labels`` settings (JSON-able dict), and for labelers
    built from the recipe its ``recipe_context(recipe)`` (plain data) and a cache directory."""

    labels: dict
    context: dict | None = None
    cache_dir: str | None = None

    @classmethod
    def from_settings(cls, settings) -> "LabelerSpec":
        """The spec of a :class:`~ilforge.reference.settings.LabelSettings` alone (no recipe)."""
        return cls(settings.model_dump(mode="json"))

    @classmethod
    def from_recipe(cls, recipe, cache_dir=None) -> "LabelerSpec":
        """The spec of ``recipe.labels``, carrying the recipe only when the labeler needs it."""
        from ilforge.reference.registry import labeler_class, needs_recipe

        settings = recipe.labels
        if not needs_recipe(settings.labeler):
            return cls.from_settings(settings)
        return cls(settings.model_dump(mode="json"), labeler_class(settings.labeler).recipe_context(recipe),
                   str(cache_dir) if cache_dir is not None else None)

    def to_json(self) -> dict:
        return {"labels": self.labels, "context": self.context, "cache_dir": self.cache_dir}

    @classmethod
    def from_json(cls, doc: dict) -> "LabelerSpec":
        return cls(doc["labels"], doc.get("context"), doc.get("cache_dir"))

    def key(self) -> str:
        """Canonical JSON of the spec (the per-process labeler cache key)."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))


def get_labeler(spec: LabelerSpec):
    """The labeler of ``spec``, built once per process."""
    key = spec.key()
    lab = _LABELERS.get(key)
    if lab is None:
        from ilforge.reference.registry import make_labeler
        from ilforge.reference.settings import LabelSettings

        lab = make_labeler(LabelSettings.model_validate(spec.labels), spec.context, spec.cache_dir)
        _LABELERS[key] = lab
    return lab


def task_string(kind: str, params: dict) -> str:
    """``kind:{canonical json}``; the store keys strategy jobs by this string."""
    return f"{kind}:{json.dumps(params, sort_keys=True, separators=(',', ':'))}"


def parse_task(task: str) -> tuple[str, dict]:
    if task == SINGLE_POINT:
        return SINGLE_POINT, {}
    kind, _, params = task.partition(":")
    return kind, json.loads(params)


@dataclass
class TaskResult:
    """What a label task produced: labels (single point) or labelled frames (strategy job), or why
    it failed and whether a retry may help; ``seconds`` of work; the worker's pid and thread limits."""

    ok: bool
    labels: Labels | None = None
    frames: list = field(default_factory=list)  # [(Atoms, Labels)] of a strategy job
    reason: str = ""
    retryable: bool = True
    seconds: float = 0.0
    worker: dict = field(default_factory=dict)


def run_label_job(spec: LabelerSpec, task: str, atoms) -> TaskResult:
    """Label ``atoms`` (single point) or run the strategy job ``task`` from it; never raises for a
    failed label (the failure is the result)."""
    from ilforge.reference import strategies

    t0 = time.perf_counter()
    try:
        labeler = get_labeler(spec)
        kind, params = parse_task(task)
        if kind == SINGLE_POINT:
            return TaskResult(True, labels=labeler.label(atoms), seconds=time.perf_counter() - t0)
        if kind == "reference_md":
            frames = strategies.reference_md(atoms, labeler, **params)
        elif kind == "relax":
            frames = strategies.relax(atoms, labeler, **params)
        else:
            return TaskResult(False, reason=f"unknown task kind {kind!r}", retryable=False)
        return TaskResult(True, frames=frames, seconds=time.perf_counter() - t0)
    except LabelError as exc:
        return TaskResult(False, reason=exc.reason, retryable=exc.retryable, seconds=time.perf_counter() - t0)
    except Exception as exc:  # a crash inside a labeler is recorded as a failure of this frame
        return TaskResult(False, reason=f"{type(exc).__name__}: {exc}", retryable=True, seconds=time.perf_counter() - t0)


def task_frame(atoms):
    """The frame as a task carries it: structure, per-atom arrays, the metadata of :data:`_TASK_INFO`."""
    a = atoms.copy()
    a.calc = None
    a.info = {k: atoms.info[k] for k in _TASK_INFO if k in atoms.info}
    return a


def write_label_task(directory: str | Path, spec: LabelerSpec, task: str, atoms) -> FileTask:
    """Write a label task into ``directory`` (replacing whatever a killed run left there) and
    return it, run by this interpreter as ``python -m ilforge.reference.label_task DIR``."""
    from ase.io import write

    d = Path(directory)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    write(d / FRAME_FILE, task_frame(atoms), format="extxyz")
    write_task_json(d, {"labeler": spec.to_json(), "task": task})
    return python_task(d, MODULE)


def write_label_result(directory: str | Path, res: TaskResult) -> None:
    """Write ``labelled.extxyz`` (strategy jobs) and then ``result.json``."""
    from ase.io import write

    d = Path(directory)
    if res.frames:
        write(d / FRAMES_OUT, [a for a, _ in res.frames], format="extxyz")
    write_result_json(d, {
        "ok": res.ok, "reason": res.reason, "retryable": res.retryable, "seconds": res.seconds,
        "labels": res.labels.to_dict() if res.labels is not None else None,
        "frames": [lab.to_dict() for _, lab in res.frames],
    })


def read_label_result(directory: str | Path) -> TaskResult | None:
    """The :class:`TaskResult` a finished task wrote, or None when it wrote none."""
    from ase.io import read

    d = Path(directory)
    doc = read_result_json(d)
    if doc is None:
        return None
    frames = []
    if doc["frames"]:
        atoms = read(d / FRAMES_OUT, index=":", format="extxyz")
        frames = [(a, Labels.from_dict(lab)) for a, lab in zip(atoms, doc["frames"], strict=True)]
    labels = Labels.from_dict(doc["labels"]) if doc["labels"] is not None else None
    return TaskResult(doc["ok"], labels, frames, doc["reason"], doc["retryable"], doc["seconds"])


def main(argv: list[str] | None = None) -> int:
    """Run the label task in ``argv[0]`` (a directory); 0 when a result was written (a failed label
    included), 2 on a usage error."""
    from ase.io import read

    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print(f"usage: python -m {MODULE} TASK_DIR", file=sys.stderr)
        return 2
    d = Path(args[0])
    doc = read_task_json(d)
    atoms = read(d / FRAME_FILE, format="extxyz")
    write_label_result(d, run_label_job(LabelerSpec.from_json(doc["labeler"]), doc["task"], atoms))
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a task program
    sys.exit(main())
