"""The report's transferability section shows the planner's verdict of every training set."""

import json
import shutil
from pathlib import Path

from ilforge.project import Project
from ilforge.report.build import transfer_section
from ilforge.report.html import Paragraph, Table

STUDY = Path(__file__).resolve().parents[2] / "docs" / "figures" / "transfer_li_emim_pf6_clandp.json"


def test_transfer_section_spans_column_and_verdicts(tmp_path):
    project = Project(tmp_path)
    project.results_dir()
    shutil.copy(STUDY, project.results("transfer"))
    sets = json.loads(STUDY.read_text())["training_sets"]
    sec = transfer_section(project)
    table = next(b for b in sec.blocks if isinstance(b, Table))
    assert [r[:2] for r in table.rows] == [[s["name"], "yes" if s["spans"] else "no"] for s in sets]
    assert [r[1] for r in table.rows] == ["no", "yes", "yes", "yes", "yes"]  # only {0.5} fails the rank test
    verdicts = [b.text for b in sec.blocks if isinstance(b, Paragraph)]
    assert len(verdicts) == 5 and "E(EMIM+) - E(Li+)" in verdicts[0]
