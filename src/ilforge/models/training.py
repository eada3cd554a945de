"""Training a model or a committee from labelled frames: the split, the members, the tasks.

The labelled frames are split per composition (:func:`ilforge.models.data.split_by_composition`)
with the settings' fractions and seed; the held-out test frames are written to
``<model dir>/test.extxyz`` so that validation evaluates the model on frames it never saw. A
committee of N members trains member k with seed ``seed + k`` (documented and reproducible) and, if
``committee_subsample_fraction`` < 1, on its own random subset of the training frames (bagging);
``committee.json`` lists the members (``member_<k>/``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.jsonio import write_json_atomic
from ilforge.models.artifact import ModelArtifact
from ilforge.models.committee import COMMITTEE_JSON
from ilforge.models.data import LabelledData, split_by_composition, write_frames
from ilforge.models.settings import TrainingSettings
from ilforge.models.train_task import TrainTask, run_training_tasks
from ilforge.progress import Progress

log = logging.getLogger(__name__)

TEST_FILE = "test.extxyz"


def committee_tasks(
    settings: TrainingSettings,
    train_frames: list[Atoms],
    valid_frames: list[Atoms],
    model_dir: str | Path,
    isolated_energies: dict[str, float] | None = None,
) -> list[TrainTask]:
    """One task per member: seed ``seed + k`` and, if ``committee_subsample_fraction`` < 1, its own random
    subset of the training frames (drawn without replacement with that seed)."""
    model_dir = Path(model_dir)
    base = settings.effective_seed()
    tasks = []
    for k in range(settings.committee_size):
        seed = base + k
        member = settings.model_copy(update={"seed": seed, "committee_size": 1})
        frames = list(train_frames)
        if settings.committee_subsample_fraction < 1.0:
            n = max(1, int(round(settings.committee_subsample_fraction * len(frames))))
            idx = np.sort(np.random.default_rng(seed).choice(len(frames), size=n, replace=False))
            frames = [frames[i] for i in idx]
        tasks.append(TrainTask(member, frames, list(valid_frames), str(model_dir / f"member_{k}"), dict(isolated_energies or {})))
    return tasks


def train_committee(
    settings: TrainingSettings,
    train_frames: list[Atoms],
    valid_frames: list[Atoms],
    model_dir: str | Path,
    isolated_energies: dict[str, float] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[ModelArtifact]:
    """Train ``settings.committee_size`` members and write ``committee.json``; returns their artifacts.
    ``progress``: epochs and members done (:func:`ilforge.models.train_task.run_training_tasks`)."""
    tasks = committee_tasks(settings, train_frames, valid_frames, model_dir, isolated_energies)
    artifacts = run_training_tasks(tasks, workers=workers, progress=progress)
    write_json_atomic(Path(model_dir) / COMMITTEE_JSON, {  # after every member is complete
        "members": [a.directory.name for a in artifacts],
        "seeds": [a.info["settings"]["seed"] for a in artifacts],
        "subsample_fraction": settings.committee_subsample_fraction,
    }, indent=2)
    return artifacts


def train_model(
    settings: TrainingSettings,
    data: LabelledData,
    model_dir: str | Path,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[ModelArtifact]:
    """Split ``data``, train one model or a committee into ``model_dir`` and keep the test frames;
    returns the artifact(s) (one per committee member). ``progress``: epochs done / total while training.

    The previous model stays usable until the new one is complete: each backend fit replaces its files
    at its end, and ``test.extxyz`` and ``committee.json`` are replaced (atomically) only afterwards."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.with_stress_weight(all(keys.REF_STRESS in a.info for a in data.frames))
    train, valid, test = split_by_composition(data.frames, settings.valid_fraction, settings.test_fraction, settings.effective_seed())
    if settings.committee_size == 1 or _native_ensemble(settings.backend):
        task = TrainTask(settings, train, valid, str(model_dir), dict(data.isolated_energies))
        artifacts = run_training_tasks([task], progress=progress)
        (model_dir / COMMITTEE_JSON).unlink(missing_ok=True)  # a committee of an earlier run is replaced
    else:
        artifacts = train_committee(settings, train, valid, model_dir, data.isolated_energies, workers=workers, progress=progress)
    _replace_test_frames(model_dir / TEST_FILE, test)
    return artifacts


def _native_ensemble(backend: str) -> bool:
    """True when the backend fits ``committee_size`` members as one model with its own ensemble
    (apax's shallow ensemble: M readout heads on one descriptor), not as M separate fits."""
    from ilforge.models.registry import backend_class

    return bool(getattr(backend_class(backend), "native_ensemble", False))


def _replace_test_frames(path: Path, test: list[Atoms]) -> None:
    """Write the held-out test frames through a temporary file and a rename (none: remove the old file)."""
    if not test:
        path.unlink(missing_ok=True)
        return
    write_frames(path, test)  # atomic: temporary file + rename
