"""The executor interface: what the labelling loop, committee training and MD state points run on.

An executor runs picklable callables in worker processes (a local spawned pool, or Dask workers)
and hands back futures. The tasks ilforge gives it are :class:`~ilforge.engine.task.FileTask`
objects run by :func:`~ilforge.engine.task.run_file_task`: files and a command, so a task may run
in another Python interpreter (a backend's own environment) or on another node.

Leaving a ``with`` block normally closes the executor (waiting for nothing more); leaving it
through an exception (Ctrl-C included) aborts it, cancelling the tasks in flight so that only
they are lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import Future


class Executor(ABC):
    """Runs callables in workers. Subclasses: :class:`~ilforge.engine.local.LocalPool`,
    :class:`~ilforge.engine.dask_cluster.DaskExecutor`."""

    #: tasks a caller should keep submitted at once (enough to keep every worker busy)
    max_in_flight: int = 2

    @abstractmethod
    def submit(self, fn: Callable, *args) -> Future:
        """Run ``fn(*args)`` in a worker; returns a future (``concurrent.futures`` or Dask)."""

    @abstractmethod
    def wait_first(self, futures: Iterable) -> set:
        """Block until at least one of ``futures`` is done; return the done ones."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers after the submitted tasks finished."""

    @abstractmethod
    def abort(self) -> None:
        """Stop at once: cancel queued tasks, stop the workers; work in flight is lost."""

    def run_all(self, fn: Callable, items: list, on_done: Callable | None = None) -> list:
        """``[fn(item) for item in items]`` through the workers, at most :attr:`max_in_flight` at a
        time; ``on_done(index, result)`` as each finishes. Results in the order of ``items``; the
        first exception aborts the executor and is raised."""
        results: list = [None] * len(items)
        queue = list(enumerate(items))[::-1]
        in_flight: dict = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < self.max_in_flight:
                    i, item = queue.pop()
                    in_flight[self.submit(fn, item)] = i
                for fut in self.wait_first(list(in_flight)):
                    i = in_flight.pop(fut)
                    results[i] = fut.result()
                    if on_done is not None:
                        on_done(i, results[i])
        except BaseException:
            self.abort()
            raise
        return results

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


class InlineExecutor(Executor):
    """Runs each task in this process when it is submitted (one worker, no pool): for single tasks,
    debugging and machines where spawning workers costs more than it gives."""

    max_in_flight = 1

    def submit(self, fn: Callable, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future, as a pool would
            if isinstance(exc, KeyboardInterrupt):
                raise
            fut.set_exception(exc)
        return fut

    def wait_first(self, futures: Iterable) -> set:
        return set(futures)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass
