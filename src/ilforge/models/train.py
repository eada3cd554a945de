"""Training a project's model (``ilforge train``): split, train one model or a committee, keep the test frames.

The labelled frames are split per composition (:func:`ilforge.models.data.split_by_composition`)
with the settings' fractions and seed; the test frames are written to ``models/<name>/test.extxyz``
so that ``ilforge validate`` evaluates the model on frames it never saw.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ilforge.models.artifact import ModelArtifact
from ilforge.models.committee import train_committee
from ilforge.models.data import LabelledData, split_by_composition
from ilforge.models.finetune import finetune
from ilforge.models.mace_backend import write_frames
from ilforge.models.settings import TrainingSettings

log = logging.getLogger(__name__)

TEST_FILE = "test.extxyz"


def train_project(
    settings: TrainingSettings,
    data: LabelledData,
    workdir: str | Path,
    name: str = "mace",
    max_workers: int = 1,
    progress=None,
) -> list[ModelArtifact]:
    """Train ``models/<name>`` on ``data``; returns the artifact(s) (one per committee member)."""
    model_dir = Path(workdir) / "models" / name
    model_dir.mkdir(parents=True, exist_ok=True)
    train, valid, test = split_by_composition(data.frames, settings.valid_fraction, settings.test_fraction, settings.effective_seed())
    if test:
        write_frames(model_dir / TEST_FILE, test)
    if settings.foundation_model:
        art = finetune(settings, settings.foundation_model, train, valid, model_dir, settings.finetune, data.isolated_energies)
        return [art]
    if settings.committee_size == 1:
        from ilforge.models.tasks import TrainTask, run_training_tasks

        return run_training_tasks([TrainTask(settings.model_dump(), train, valid, str(model_dir), dict(data.isolated_energies))], progress=progress)
    return train_committee(settings, train, valid, model_dir, data.isolated_energies, max_workers=max_workers, progress=progress)
