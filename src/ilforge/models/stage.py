"""The train stage: ``run_train(project, recipe) -> TrainResult`` (``ilforge train`` and ``ilforge run``).

The one place that decides what a project's model trains on:

- settings: the recipe's ``training:`` section (its backend's settings class) with ``overrides``
  applied; ``seed`` None becomes the recipe's ``seed`` here, and nowhere else;
- frames: ``frames_file`` (extxyz) if given, else the project's frame store;
- level of theory: ``level_of_theory`` if given; else, for the frame store, the level of the
  recipe's labeler (``labels:``), so a model never mixes labels of another level; with a frames file
  (or without a recipe) the one level present in the frames.

The model goes to ``models/<model_name>`` (default: ``training.model_name``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact
from ilforge.models.data import load_labelled
from ilforge.models.registry import apply_overrides, backend_class, settings_from_dict
from ilforge.models.settings import TrainingSettings
from ilforge.models.training import train_model
from ilforge.progress import Progress
from ilforge.project import Project, writes_project
from ilforge.reference.stage import level_of_theory as recipe_level_of_theory

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What the train stage did: the model's name and directory, the data and each member's artifact."""

    model_name: str
    model_dir: str
    backend: str
    n_frames: int
    level_of_theory: str | None
    artifacts: list[ModelArtifact] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "model": self.model_name,
            "backend": self.backend,
            "n_frames": self.n_frames,
            "level_of_theory": self.level_of_theory,
            "models": [str(a.directory) for a in self.artifacts],
            "valid": [a.info.get("metrics_valid") for a in self.artifacts],
        }


def training_settings(recipe=None, overrides: dict | None = None) -> TrainingSettings:
    """The recipe's training settings (defaults without a recipe) with ``overrides``; ``seed`` None
    takes the recipe's seed (0 without a recipe)."""
    settings = recipe.training if recipe is not None else settings_from_dict({})
    settings = apply_overrides(settings, overrides)
    if settings.seed is None:
        settings = settings.model_copy(update={"seed": int(recipe.seed) if recipe is not None else 0})
    return settings


def training_level(project: Project, recipe=None, frames_file=None, level_of_theory: str | None = None) -> str | None:
    """The level of theory to train on (see the module docstring); None: the one level in the frames."""
    if level_of_theory is not None or frames_file is not None or recipe is None:
        return level_of_theory
    return recipe_level_of_theory(project, recipe)


def check_foundation(settings: TrainingSettings) -> None:
    """A foundation model to fine-tune (``training.foundation_model``, for backends that have one) exists
    and is complete, checked before any frames are read or tasks written."""
    foundation = getattr(settings, "foundation_model", None)
    if not foundation or not getattr(type(settings), "foundation_is_path", True):
        return  # none, or a pretrained name the backend resolves itself (SevenNet's 7net-0)
    path = Path(str(foundation)).expanduser()
    if path.is_dir():
        ModelArtifact.load(path)
    elif path.is_file():
        check = getattr(backend_class(settings.backend), "check_model_file", None)
        if check is not None:
            check(path)
    else:
        raise IlforgeError(f"training.foundation_model: {path} not found; give a local model file or an ilforge "
                           "model directory (`ilforge train --foundation PATH`)")


@writes_project("train")
def run_train(
    project: Project,
    recipe=None,
    *,
    model_name: str | None = None,
    frames_file=None,
    level_of_theory: str | None = None,
    workers: int = 1,
    overrides: dict | None = None,
) -> TrainResult:
    """Train ``models/<model_name>`` (one model or a committee) of ``project`` on its labelled frames.

    ``workers``: committee members trained in parallel (local processes). Progress: epochs done / total
    over all members, members done, the current member's epoch and validation errors
    (``Project.progress_file("train")``, a terminal line).
    """
    settings = training_settings(recipe, overrides)
    check_foundation(settings)
    name = model_name or settings.model_name
    data = load_labelled(project, frames_file, training_level(project, recipe, frames_file, level_of_theory))
    log.info("training %s model %r on %d frames at level %s", settings.backend, name, len(data.frames), data.level_of_theory)
    with Progress(0, f"train {name}", "epoch", status_path=project.progress_file("train")) as progress:
        arts = train_model(settings, data, project.model_dir(name), workers=workers, progress=progress)
    return TrainResult(name, str(project.model_dir(name)), settings.backend, len(data.frames), data.level_of_theory, arts)
