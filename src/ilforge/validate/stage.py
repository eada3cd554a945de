"""The validate stage: ``run_validate(project, recipe) -> ValidateResult`` (``ilforge validate`` and ``ilforge run``).

Evaluates ``models/<name>`` (default: the recipe's ``training.model_name``) on its held-out test
frames (``models/<name>/test.extxyz``, written by the train stage) or on ``frames_file``; for a
committee the mean and every member, for one model that model
(:func:`ilforge.validate.evaluate.validate_committee`). Both callers give the same answer in the
same files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ilforge.errors import IlforgeError
from ilforge.models.artifact import MODEL_JSON
from ilforge.models.committee import COMMITTEE_JSON, Committee
from ilforge.models.data import load_labelled, read_frames_file
from ilforge.models.registry import settings_from_dict
from ilforge.models.training import TEST_FILE
from ilforge.project import REFERENCE_CHECK, Project, validate_name, writes_project
from ilforge.validate.evaluate import validate_committee
from ilforge.validate.pressure import model_pressure_check

log = logging.getLogger(__name__)


@dataclass
class ValidateResult:
    """Results of the validate stage: result name -> document (as written to ``results/``); ``main``
    names the headline result (the committee mean, or the single model)."""

    model_name: str
    n_frames: int = 0
    results: dict[str, dict] = field(default_factory=dict)
    main: str | None = None
    skipped: str | None = None

    def summary(self) -> dict:
        if self.skipped:
            return {"skipped": self.skipped}
        overall = self.results[self.main]["overall"]
        return {"model": self.model_name, "n_frames": self.n_frames, "results": sorted(self.results),
                "overall": {k: v for k, v in overall.items() if not isinstance(v, dict)}}


def model_directory(project: Project, name: str) -> Path:
    """``models/<name>`` of the project, or ``name`` itself when it is a model directory."""
    path = Path(name)
    if path.is_dir() and ((path / MODEL_JSON).is_file() or (path / COMMITTEE_JSON).is_file()):
        return path
    if name not in project.model_names():
        raise IlforgeError(f"no model {name!r} in {project.root} (models: {project.model_names() or 'none'}); "
                           f"run `ilforge train --workdir {project.root}` first")
    return project.model_dir(name)


def validation_frames(project: Project, name: str, frames_file=None, level_of_theory: str | None = None):
    """(committee, frames): the model ``name`` and the frames it is judged on: ``frames_file`` (its
    labels at ``level_of_theory``), else the model's held-out test frames (None when it has none)."""
    committee = Committee.load(model_directory(project, name))
    if frames_file is not None:
        return committee, load_labelled(None, frames_file, level_of_theory).frames
    test = committee.directory / TEST_FILE
    return committee, (read_frames_file(test) if test.is_file() else None)


@writes_project("validate")
def run_validate(
    project: Project,
    recipe=None,
    *,
    model_name: str | None = None,
    frames_file=None,
    level_of_theory: str | None = None,
    plots: bool = True,
) -> ValidateResult:
    """Errors of ``models/<model_name>`` on its test frames (or ``frames_file``), written to results/."""
    name = model_name or (recipe.training if recipe is not None else settings_from_dict({})).model_name
    committee, frames = validation_frames(project, name, frames_file, level_of_theory)
    if frames is None:
        test = committee.directory / TEST_FILE
        return ValidateResult(committee.name, skipped=f"{test} not found: no held-out test frames (training.test_fraction "
                              "is 0 or too few frames); give labelled frames with --frames FILE")
    device = recipe.training.device if recipe is not None else committee.device
    docs = validate_committee(project, committee, frames, device=device, plots=plots)
    main = validate_name(committee.name, committee=len(committee) > 1)
    _add_pressure_check(project, committee, docs[main], device)
    return ValidateResult(committee.name, len(frames), docs, main)


def _add_pressure_check(project: Project, committee: Committee, doc: dict, device: str) -> None:
    """Put the model's pressure on the reference check's snapshots next to its reference's into the
    headline result (``pressure_check``), when the project has a reference check
    (:mod:`ilforge.validate.pressure`)."""
    if not project.result_frames(REFERENCE_CHECK).is_file():
        return
    check = model_pressure_check(project, committee.calculator_factory(device=device)())
    if check is None:
        return
    doc["pressure_check"] = check
    project.write_results(validate_name(committee.name, committee=len(committee) > 1), doc)
    (log.info if check["agrees"] else log.warning)(
        "model pressure on the reference-check snapshots: %+.2f GPa vs %+.2f ± %.2f GPa (%s)",
        check["model_pressure_GPa"], check["reference_pressure_GPa"], check["reference_spread_GPa"],
        "agrees" if check["agrees"] else "DISAGREES: the model's NPT density will differ from its reference's")
