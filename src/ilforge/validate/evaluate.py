"""``ilforge validate``: errors of a trained model (or committee) on labelled frames, written to results/.

Checks first that the frames can be judged by the model: same level of theory as its training
labels, and no element the model never saw.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ase import Atoms

from ilforge.models.artifact import ModelArtifact
from ilforge.models.base import TrainingDataError, check_elements_covered, check_labelled, get_backend, level_of_theory
from ilforge.validate.metrics import compute_metrics
from ilforge.validate.plots import parity_plots

log = logging.getLogger(__name__)


def check_frames_for_model(artifact: ModelArtifact, frames: list[Atoms], what: str = "test frames") -> None:
    check_labelled(frames, what)
    level = level_of_theory(frames, what)
    if level is not None and artifact.level_of_theory is not None and level != artifact.level_of_theory:
        raise TrainingDataError(
            f"the {what} are labelled at {level!r} but model {artifact.name} was trained on {artifact.level_of_theory!r}: "
            "errors against another level of theory measure the methods' difference, not the model; choose frames of the "
            "same level (`--level-of-theory`)"
        )
    check_elements_covered(artifact.elements, frames, what)


def validate_model(
    artifact: ModelArtifact, frames: list[Atoms], results_dir: str | Path, device: str = "cpu", plots: bool = True, tag: str | None = None
) -> dict:
    """Metrics (overall and per composition / temperature / config_type) and parity plots.

    Writes ``results_dir/validate_<model>.json`` and ``<model>_parity_*.png``; returns the results dict.
    """
    check_frames_for_model(artifact, frames)
    preds = get_backend(artifact.backend).predict(artifact, frames, device=device)
    metrics = compute_metrics(frames, preds)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    tag = tag or artifact.name
    out = {"model": str(artifact.directory), "level_of_theory": artifact.level_of_theory, "n_frames": len(frames), **metrics}
    if plots:
        out["plots"] = [str(p) for p in parity_plots(frames, preds, results_dir, tag)]
    (results_dir / f"validate_{tag}.json").write_text(json.dumps(out, indent=2))
    return out
