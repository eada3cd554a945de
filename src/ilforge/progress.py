"""Progress of a long loop: items done, rate, ETA and the latest values, for a terminal, a log and a status file.

>>> p = Progress(total=500, label="md T300K", unit="step", status_path=run_dir / "progress.json")
>>> for step in ...:
...     p.update(10, T_K=301.2, rho_g_cm3=1.21)   # 10 more items done, latest values
>>> p.close()

- On a terminal (``stream.isatty()``, default ``sys.stderr``) one line is rewritten in place, at
  most every ``min_interval_s``: ``label  120/500 step (24%)  3.1 step/s  ETA 2m03s  T_K=301.2``.
- Not on a terminal (a log file, a pipe, a batch job) nothing is printed; a ``logging`` INFO line
  at most every ``log_interval_s`` (30 s) and one at the end.
- ``status_path`` (a path the caller gets from the Project or a run directory): a small JSON
  document rewritten atomically at most every ``min_interval_s`` and at the end, which
  ``ilforge status`` can show (:func:`read_status`, :func:`format_status`)::

      {"label": str, "unit": str, "done": int, "total": int, "rate_per_s": float,
       "eta_s": float | null, "elapsed_s": float, "latest": {name: value}, "finished": bool,
       "updated": unix time}

- ``on_status(doc)``: an optional callback with the same document (e.g. to forward it elsewhere).

Rate r = (done − done at start) / elapsed wall time; ETA = (total − done) / r. ``done`` may start
above 0 (a resumed run): the rate counts only the items done in this process. Counts are whole
numbers (steps, frames, epochs) or, for a continuous quantity such as simulated time, fractional
(``Progress(80.0, "sample", "ps")``; shown with 4 significant digits). A stage that learns its
``total`` only after some setup creates the reporter early and calls :meth:`Progress.start`
(total, done before) when the loop begins. :func:`set_terminal` (``ilforge label
--no-progress``) turns the terminal line off for the whole process; the status file stays.
Dependency-free (standard library only); thread-unsafe by design (one loop, one reporter).
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["Progress", "format_duration", "format_status", "log_prefix", "read_status", "set_terminal"]

#: whether a :class:`Progress` may draw its terminal line (see :func:`set_terminal`)
_TERMINAL = {"enabled": True}


def set_terminal(enabled: bool) -> None:
    """Allow (default) or forbid the terminal line of every :class:`Progress` made afterwards in this
    process; logging and status files are unaffected."""
    _TERMINAL["enabled"] = bool(enabled)


#: moves a terminal's cursor to the start of the line and clears it
CLEAR_LINE = "\r\x1b[K"


def log_prefix(stream=None) -> str:
    """What a log format should start with so that a log message written to ``stream`` (default
    ``sys.stderr``) replaces a progress line drawn there instead of being appended to it:
    :data:`CLEAR_LINE` on a terminal, else nothing. Use: ``logging.basicConfig(format=log_prefix() + ...)``."""
    stream = stream if stream is not None else sys.stderr
    return CLEAR_LINE if _TERMINAL["enabled"] and bool(getattr(stream, "isatty", lambda: False)()) else ""


def _count(x) -> int | float:
    """A count as given: whole numbers stay ``int``, fractional ones (ps simulated) stay ``float``."""
    f = float(x)
    return int(f) if f.is_integer() else f


def format_duration(seconds: float | None) -> str:
    """``75`` -> ``1m15s``; ``4000`` -> ``1h06m``; None or not finite -> ``?``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def format_status(doc: dict) -> str:
    """One line for a status document (see the module docstring)."""
    total = doc.get("total") or 0
    done = doc.get("done", 0)
    pct = f" ({100.0 * done / total:.0f}%)" if total else ""
    parts = [f"{doc.get('label', '')}  {_fmt_value(done)}/{_fmt_value(total)} {doc.get('unit', '')}{pct}"]
    if doc.get("finished"):
        parts.append("finished")
    else:
        rate = doc.get("rate_per_s") or 0.0
        parts.append(f"{rate:.3g} {doc.get('unit', '')}/s  ETA {format_duration(doc.get('eta_s'))}")
    latest = doc.get("latest") or {}
    if latest:
        parts.append("  ".join(f"{k}={_fmt_value(v)}" for k, v in latest.items()))
    return "  ".join(parts)


def read_status(path) -> dict | None:
    """The status document at ``path``; None when it is missing or unreadable (a status is advisory)."""
    import json

    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class Progress:
    """Reports ``update(n, **latest)`` calls of a loop over ``total`` items (see the module docstring).

    ``done``: items already done before this process started (resume). ``stream``: where the
    terminal line goes (default ``sys.stderr``); ``clock``: a monotonic clock in seconds (tests).
    """

    def __init__(self, total: int, label: str = "", unit: str = "item", *, done: int = 0, status_path=None,
                 on_status: Callable[[dict], None] | None = None, stream=None, min_interval_s: float = 0.5,
                 log_interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.total, self.label, self.unit = _count(total), label, unit
        self.done = self._start_done = _count(done)
        self.latest: dict = {}
        self.status_path = Path(status_path) if status_path is not None else None
        self.on_status = on_status
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval_s, self.log_interval_s = float(min_interval_s), float(log_interval_s)
        self.clock = clock
        self.t0 = clock()
        self._last_draw = self._last_log = -math.inf
        self.finished = False
        self.tty = _TERMINAL["enabled"] and bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self, total, done=0) -> "Progress":
        """(Re)start the count once the work is known: ``total`` items, ``done`` of them finished before
        (resumed work, not counted in the rate); the clock of the rate starts now."""
        self.total = _count(total)
        self.done = self._start_done = _count(done)
        self.t0 = self._last_draw = self.clock()
        self._emit(final=False)  # the line (and status file) appear as soon as the work is known
        return self

    @property
    def elapsed_s(self) -> float:
        return self.clock() - self.t0

    @property
    def rate_per_s(self) -> float:
        """Items per second done by this process."""
        dt = self.elapsed_s
        return (self.done - self._start_done) / dt if dt > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        r = self.rate_per_s
        return max(self.total - self.done, 0) / r if r > 0 else None

    def status(self) -> dict:
        """The status document (see the module docstring)."""
        return {"label": self.label, "unit": self.unit, "done": self.done, "total": self.total,
                "rate_per_s": self.rate_per_s, "eta_s": self.eta_s, "elapsed_s": self.elapsed_s,
                "latest": dict(self.latest), "finished": self.finished, "updated": time.time()}

    def line(self) -> str:
        return format_status(self.status())

    def update(self, n: int = 1, **latest) -> None:
        """``n`` more items done; ``latest``: the newest values to show (floats, ints or short strings)."""
        self.done = _count(self.done + n)
        self.latest.update(latest)
        now = self.clock()
        if now - self._last_draw >= self.min_interval_s:
            self._last_draw = now
            self._emit(final=False)
        if not self.tty and now - self._last_log >= self.log_interval_s:
            self._last_log = now
            log.info("%s", self.line())

    def set(self, done: int, **latest) -> None:
        """Like :meth:`update`, with the absolute count ``done``."""
        self.update(_count(done) - self.done, **latest)

    def close(self) -> None:
        """The final report: the terminal line ends, a log line, the status marked finished."""
        if self.finished:
            return
        self.finished = self.done >= self.total
        self._emit(final=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        log.info("%s", self.line())

    def _emit(self, final: bool) -> None:
        doc = self.status()
        if self.tty:
            width = max(20, min(200, shutil.get_terminal_size((200, 24)).columns - 1))  # a wrapped line is not redrawn
            self.stream.write("\r" + format_status(doc)[:width] + "\x1b[K")
            self.stream.flush()
        if self.status_path is not None:
            from ilforge.jsonio import write_json_atomic

            try:
                write_json_atomic(self.status_path, doc)
            except OSError as exc:  # a status file is advisory: never stop the work for it
                log.debug("progress status %s not written: %s", self.status_path, exc)
        if self.on_status is not None:
            self.on_status(doc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
