"""Load an HTML file in headless Chromium (Debian's package) and read back what the page's own
script recorded on <body>: sections counted on load, script errors, broken images."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium not installed (make setup installs Debian's chromium package)")
    return exe


def load_page(path: Path) -> dict:
    """DOM attributes set by the report's load handler, plus the section ids found."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", Path(path).resolve().as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    dom = proc.stdout
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1))) if body else {}
    return {
        "returncode": proc.returncode,
        "attrs": attrs,
        "section_ids": re.findall(r'<section class="report-section" id="([^"]+)"', dom),
        "dom": dom,
    }
