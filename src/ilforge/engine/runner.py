"""The task runner: label every pending frame of a level of theory, resumably.

Loop: submit up to ``max_in_flight`` tasks; as each result arrives, write it to the store at once
(one transaction per result) and submit the next. A failed task is recorded (reason, attempts + 1)
and resubmitted while its error is retryable and attempts < ``max_attempts``; a non-converged SCF is
such a recorded failure, never fatal to the run. Killing the runner (Ctrl-C, SIGKILL) loses only
the tasks in flight: everything finished is in the store, and a rerun labels only what is missing
(the store never labels a frame twice).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ilforge.engine.compute import ComputeSettings
from ilforge.engine.tasks import LabelerSpec, TaskResult, run_task
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
    label_s: float = 0.0  # sum of the workers' labelling times
    store_s: float = 0.0  # time spent writing results to the store
    workers: dict = field(default_factory=dict)  # pid -> OMP_NUM_THREADS seen in that worker
    max_threads: int = 0  # most threads any worker process had after a task (Linux)


def make_executor(settings: ComputeSettings):
    """The executor of ``settings``: a local process pool or Dask."""
    if settings.backend == "dask":
        from ilforge.engine.dask_cluster import DaskExecutor

        return DaskExecutor(settings)
    from ilforge.engine.local import LocalPool

    return LocalPool(settings.workers, settings.threads_per_worker, settings.in_flight)


def run_labelling(
    store: FrameStore,
    spec: LabelerSpec,
    level_of_theory: str,
    executor,
    max_attempts: int = 3,
    progress: Callable[[RunSummary, int], None] | None = None,
    records: list[LabelRecord] | None = None,
) -> RunSummary:
    """Label every record to do at ``level_of_theory`` with ``executor`` (see module docstring).

    ``progress(summary, total)`` is called after every finished task. On any exception (Ctrl-C
    included) the executor is aborted and the exception re-raised; results already written stay.
    """
    t0 = time.perf_counter()
    summary = RunSummary(level_of_theory)
    queue = deque(records if records is not None else store.todo(level_of_theory, max_attempts))
    total = len(queue)
    in_flight: dict = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < executor.max_in_flight:
                rec = queue.popleft()
                ts = time.perf_counter()
                atoms = store.get(rec.frame_hash)
                summary.store_s += time.perf_counter() - ts
                in_flight[executor.submit(run_task, spec, rec.task, atoms)] = rec
                summary.submitted += 1
            for fut in executor.wait_first(list(in_flight)):
                rec = in_flight.pop(fut)
                try:
                    res: TaskResult = fut.result()
                except Exception as exc:  # the worker died (BrokenProcessPool), lost connection...
                    res = TaskResult(False, reason=f"worker error: {type(exc).__name__}: {exc}", retryable=True)
                if res.worker:
                    summary.workers[res.worker.get("pid")] = res.worker.get("OMP_NUM_THREADS")
                    summary.max_threads = max(summary.max_threads, res.worker.get("threads") or 0)
                summary.label_s += res.seconds
                ts = time.perf_counter()
                if res.ok:
                    if rec.task == SINGLE_POINT:
                        store.record_done(rec.frame_hash, level_of_theory, res.labels, res.seconds, rec.row_id)
                    else:
                        new = store.record_job_done(rec.frame_hash, level_of_theory, rec.task, res.frames,
                                                    res.seconds, rec.row_id)
                        summary.new_frames += len(new)
                    summary.done += 1
                else:
                    summary.failed_attempts += 1
                    new_rec = store.record_failure(rec.frame_hash, level_of_theory, res.reason, res.retryable,
                                                   rec.row_id, rec.task)
                    if new_rec.retryable and new_rec.attempts < max_attempts:
                        log.info("frame %s failed (attempt %d): %s; retrying", rec.frame_hash, new_rec.attempts,
                                 res.reason)
                        queue.append(new_rec)
                    else:
                        log.warning("frame %s failed for good after %d attempt(s): %s", rec.frame_hash,
                                    new_rec.attempts, res.reason)
                        summary.failed += 1
                summary.store_s += time.perf_counter() - ts
                if progress is not None:
                    progress(summary, total)
    except BaseException:
        executor.abort()
        raise
    summary.wall_s = time.perf_counter() - t0
    return summary
