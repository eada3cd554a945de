"""The labelling loop: label every pending frame of a level of theory, resumably, on any executor.

Each pending record becomes a file-described task (:mod:`ilforge.reference.label_task`) in
``tasks_dir/<frame_hash>[_<task hash>]``, run by the executor's workers with
:func:`ilforge.engine.task.run_file_task`. Loop: submit up to ``executor.max_in_flight`` tasks; as
each finishes, read its result, write it to the store at once (one transaction per result),
delete its directory and submit the next. A failed task is recorded (reason, attempts + 1) and
resubmitted while its error is retryable and attempts < ``max_attempts``; a non-converged SCF is
such a recorded failure, never fatal to the run, and so is a worker that died (retryable).
Killing the runner (Ctrl-C, SIGKILL) loses only the tasks in flight: everything finished is in
the store, a rerun labels only what is missing (the store never labels a frame twice) and
replaces the task directories a killed run left behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ilforge import keys
from ilforge.engine.base import Executor
from ilforge.engine.task import TASK_JSON, run_file_task
from ilforge.progress import Progress
from ilforge.reference.label_task import LabelerSpec, TaskResult, read_label_result, write_label_task
from ilforge.store.frames import SINGLE_POINT, FrameStore, LabelRecord

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run did: tasks done and failed (for good), attempts that failed, seconds."""

    level_of_theory: str
    submitted: int = 0
    done: int = 0
    failed: int = 0
    failed_attempts: int = 0
    new_frames: int = 0
    wall_s: float = 0.0
    label_s: float = 0.0  # sum of the tasks' times in the workers
    store_s: float = 0.0  # time this process spent on the store and the task files
    workers: dict = field(default_factory=dict)  # pid -> OMP_NUM_THREADS seen in that worker
    max_threads: int = 0  # most threads any worker process had after a task (Linux)


def task_dir(tasks_dir: str | Path, rec: LabelRecord) -> Path:
    """``tasks_dir/<frame_hash>`` for a single point, ``<frame_hash>_<12 hex of the task's SHA-256>``
    for a strategy job."""
    name = rec.frame_hash
    if rec.task != SINGLE_POINT:
        name += "_" + hashlib.sha256(rec.task.encode()).hexdigest()[:12]
    return Path(tasks_dir) / name


def run_labelling(
    store: FrameStore,
    spec: LabelerSpec,
    level_of_theory: str,
    executor: Executor,
    tasks_dir: str | Path,
    max_attempts: int = 3,
    progress: Progress | None = None,
    records: list[LabelRecord] | None = None,
) -> RunSummary:
    """Label every record to do at ``level_of_theory`` with ``executor`` (see module docstring).
    ``tasks_dir`` must be visible to the workers (a shared file system for remote Dask workers).

    ``progress``: started with the number of tasks to do; it advances by one per task finished for good
    (labelled or failed after its last attempt), showing failures so far. On any exception (Ctrl-C
    included) the executor is aborted and the exception re-raised; results already written stay.
    """
    t0 = time.perf_counter()
    summary = RunSummary(level_of_theory)
    queue = deque(submission_order(records if records is not None else store.todo(level_of_theory, max_attempts)))
    if progress is not None:
        progress.start(len(queue))
    in_flight: dict = {}
    _clear_stale(tasks_dir)
    try:
        while queue or in_flight:
            while queue and len(in_flight) < executor.max_in_flight:
                rec = queue.popleft()
                in_flight[_submit(executor, store, spec, rec, tasks_dir, summary)] = rec
            for fut in executor.wait_first(list(in_flight)):
                rec = in_flight.pop(fut)
                res = _collect(fut, task_dir(tasks_dir, rec), summary)
                retry = _store(store, rec, res, max_attempts, summary)
                if retry is not None:
                    queue.append(retry)
                if progress is not None:
                    progress.set(summary.done + summary.failed, failed=summary.failed,
                                 failed_attempts=summary.failed_attempts)
    except BaseException:
        executor.abort()
        raise
    _remove_if_empty(tasks_dir)
    summary.wall_s = time.perf_counter() - t0
    return summary


def submission_order(records: list[LabelRecord]) -> list[LabelRecord]:
    """Tasks that compute many labels (a strategy's reference MD or relaxation: tens of labels each)
    before single points, each group in its given order: the longest tasks start first, so none runs
    alone on one worker at the end while the others idle (the demo's 20-step GFN2-xTB MD ran ~2 min
    alone after its 138 single points)."""
    return sorted(records, key=lambda r: r.task == SINGLE_POINT)


def _submit(executor: Executor, store: FrameStore, spec: LabelerSpec, rec: LabelRecord, tasks_dir, summary):
    ts = time.perf_counter()
    task = write_label_task(task_dir(tasks_dir, rec), spec, rec.task, store.get(rec.frame_hash))
    summary.store_s += time.perf_counter() - ts
    summary.submitted += 1
    return executor.submit(run_file_task, task)


def _collect(fut, directory: Path, summary: RunSummary) -> TaskResult:
    """The task's result (a worker that died or a task program that failed: a retryable failure);
    its directory is deleted."""
    try:
        outcome = fut.result()
    except Exception as exc:  # the worker died (BrokenProcessPool), lost connection...
        res = TaskResult(False, reason=f"worker error: {type(exc).__name__}: {exc}", retryable=True)
    else:
        if outcome.worker:
            summary.workers[outcome.worker.get("pid")] = outcome.worker.get("OMP_NUM_THREADS")
            summary.max_threads = max(summary.max_threads, outcome.worker.get("threads") or 0)
        summary.label_s += outcome.seconds
        ts = time.perf_counter()
        res = read_label_result(directory) if outcome.ok else None
        summary.store_s += time.perf_counter() - ts
        if res is None:
            reason = outcome.error if not outcome.ok else "the task wrote no result"
            res = TaskResult(False, reason=f"task failed: {reason}", retryable=True, seconds=outcome.seconds)
    shutil.rmtree(directory, ignore_errors=True)
    return res


def _store(store: FrameStore, rec: LabelRecord, res: TaskResult, max_attempts: int,
           summary: RunSummary) -> LabelRecord | None:
    """Write ``res`` to the store; returns the record to try again, if any."""
    ts = time.perf_counter()
    lot = summary.level_of_theory
    retry = None
    if res.ok and rec.task == SINGLE_POINT:
        store.record_done(rec.frame_hash, lot, res.labels, res.seconds, rec.row_id)
        summary.done += 1
    elif res.ok:
        # the parent's metadata, not what the children's extxyz round trip made of it
        parent = store.get(rec.frame_hash).info
        meta = {k: parent[k] for k in (keys.COMPOSITION_ID, keys.TEMPERATURE_K) if k in parent}
        new = store.record_job_done(rec.frame_hash, lot, rec.task, res.frames, res.seconds, rec.row_id, meta)
        summary.new_frames += len(new)
        summary.done += 1
    else:
        summary.failed_attempts += 1
        new_rec = store.record_failure(rec.frame_hash, lot, res.reason, res.retryable, rec.row_id, rec.task)
        if new_rec.retryable and new_rec.attempts < max_attempts:
            log.info("frame %s failed (attempt %d): %s; retrying", rec.frame_hash, new_rec.attempts, res.reason)
            retry = new_rec
        else:
            log.warning("frame %s failed for good after %d attempt(s): %s", rec.frame_hash, new_rec.attempts,
                        res.reason)
            summary.failed += 1
    summary.store_s += time.perf_counter() - ts
    return retry


def _clear_stale(tasks_dir: str | Path) -> None:
    """Remove the task directories a killed run left in ``tasks_dir`` (those holding a task.json)."""
    root = Path(tasks_dir)
    root.mkdir(parents=True, exist_ok=True)
    for d in root.iterdir():
        if d.is_dir() and (d / TASK_JSON).is_file():
            shutil.rmtree(d, ignore_errors=True)


def _remove_if_empty(tasks_dir: str | Path) -> None:
    try:
        os.rmdir(tasks_dir)
    except OSError:
        pass
