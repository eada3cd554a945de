"""ilforge.progress: rate, ETA, the terminal line, quiet logging off a terminal, the status file."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ilforge.progress import Progress, format_duration, format_status, read_status


class _Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_rate_eta_and_status_file(tmp_path):
    clock = _Clock()
    seen = []
    p = Progress(100, "md T300K", "step", done=20, status_path=tmp_path / "progress.json", on_status=seen.append,
                 stream=io.StringIO(), clock=clock, min_interval_s=0.0)
    clock.t += 10.0
    p.update(30, T_K=301.5)
    # 30 steps in 10 s by this process (the 20 done before a resume do not count): 3 step/s, 50 left
    assert p.rate_per_s == pytest.approx(3.0)
    assert p.eta_s == pytest.approx(50 / 3.0)
    doc = read_status(tmp_path / "progress.json")
    assert doc["done"] == 50 and doc["total"] == 100 and doc["latest"] == {"T_K": 301.5} and not doc["finished"]
    assert seen[-1]["done"] == 50
    clock.t += 10.0
    p.set(100)
    p.close()
    doc = json.loads((tmp_path / "progress.json").read_text())
    assert doc["finished"] and doc["done"] == 100
    assert "finished" in format_status(doc)


def test_terminal_gets_one_updating_line():
    clock = _Clock()
    out = _Tty()
    p = Progress(10, "label", "frame", stream=out, clock=clock, min_interval_s=1.0)
    clock.t += 2.0
    p.update(4, err=0.25)
    p.update(1)  # within min_interval_s: not redrawn
    text = out.getvalue()
    assert text.startswith("\r") and text.count("\r") == 1
    assert "4/10 frame (40%)" in text and "2 frame/s" in text and "ETA 3s" in text and "err=0.25" in text
    p.close()
    assert out.getvalue().endswith("\n")


def test_not_a_terminal_is_quiet_and_logs_rarely(caplog):
    clock = _Clock()
    out = io.StringIO()
    p = Progress(1000, "x", stream=out, clock=clock, log_interval_s=30.0)
    with caplog.at_level(logging.INFO, logger="ilforge.progress"):
        for _ in range(100):
            clock.t += 1.0
            p.update(1)
        p.close()
    assert out.getvalue() == ""
    # 100 s of updates: a line at the first update, then every 30 s, and one at the end
    assert 4 <= len(caplog.records) <= 6


def test_formatting_helpers(tmp_path):
    assert format_duration(5) == "5s" and format_duration(75) == "1m15s" and format_duration(4000) == "1h06m"
    assert format_duration(None) == "?" and format_duration(float("inf")) == "?"
    (tmp_path / "bad.json").write_text("{not json")
    assert read_status(tmp_path / "bad.json") is None and read_status(tmp_path / "missing.json") is None
