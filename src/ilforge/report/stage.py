"""The ``report`` stage: the project's HTML page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ilforge.project import Project
from ilforge.report.build import write_report


@dataclass
class ReportResult:
    path: Path

    def summary(self) -> dict:
        return {"report": str(self.path)}


def run_report(project: Project, recipe) -> ReportResult:
    """Write the report of ``project`` (every section whose results exist)."""
    return ReportResult(write_report(project, recipe.training.model_name))
