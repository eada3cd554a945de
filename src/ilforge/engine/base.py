"""What every executor shares: the context-manager protocol around ``close`` and ``abort``."""

from __future__ import annotations


class Executor:
    """Base of the local pool and the Dask executor: leaving a ``with`` block normally closes the
    executor (waiting for nothing more); leaving it through an exception (Ctrl-C included) aborts
    it, cancelling the tasks in flight so that only they are lost."""

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
