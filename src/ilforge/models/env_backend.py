"""What the backends that run in their own environment (deepmd, nequip/allegro, sevenn) share.

Their fits are staged in a ``_fit`` folder and moved into the model directory when complete
(:func:`promote_fit`, after :func:`finish_fit` has validated them); they keep their training and validation frames as extxyz files
(:func:`kept_frames`); their batched predictions come from a worker in the environment that writes
``predictions.npz`` with the concatenated arrays (:func:`predict_in_env`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge.envs.subprocess_task import run_in_env
from ilforge.models.data import read_frames_file, write_frames

TRAIN_FILE = "train.extxyz"
VALID_FILE = "valid.extxyz"
FRAMES_FILE = "frames.extxyz"
PREDICTIONS_FILE = "predictions.npz"


def promote_fit(fit: Path, model_dir: Path, model_file: str) -> None:
    """Move a complete fit into ``model_dir`` entry by entry, ``model_file`` last (model.json follows)."""
    for src in sorted(fit.iterdir(), key=lambda p: p.name == model_file):
        dst = model_dir / src.name
        if dst.is_dir():
            shutil.rmtree(dst)
        os.replace(src, dst)
    fit.rmdir()


def finish_fit(backend, fit: Path, model_dir: Path, info: dict, valid: list[Atoms], curve: list[dict], model_file: str):
    """The end every env backend's ``train`` shares: the artifact of the staged fit in ``fit`` with its
    validation metrics (``backend.predict`` on ``valid``) and training curve, promoted into ``model_dir``
    and saved there. Returns the artifact."""
    from ilforge.models.artifact import ModelArtifact, write_training_curve
    from ilforge.models.metrics import compute_metrics

    artifact = ModelArtifact(fit, info)
    artifact.info["metrics_valid"] = compute_metrics(valid, backend.predict(artifact, valid))["overall"]
    write_training_curve(fit, curve)
    promote_fit(fit, model_dir, model_file)
    artifact.directory = model_dir
    artifact.save()
    return artifact


def kept_frames(directory: Path) -> tuple[list[Atoms], list[Atoms]]:
    """(train, valid): the frames a model in ``directory`` was fitted and validated on."""
    return read_frames_file(directory / TRAIN_FILE), read_frames_file(directory / VALID_FILE)


def predict_in_env(env: str, worker: str, task: dict, frames: list[Atoms], threads: int | None) -> tuple[list[dict], dict]:
    """Run ``worker`` in environment ``env`` on ``frames`` (written to ``task["frames"]``) and return one
    dict per frame (``energy`` eV, ``forces`` (n, 3) eV/Å, ``stress`` (6,) eV/Å³ Voigt or None where the
    worker wrote NaN) and the worker's result. The worker writes ``predictions.npz``: ``energy`` (F,),
    ``forces`` (Σn, 3), ``stress`` (F, 6) and ``natoms`` (F,)."""
    if not frames:
        return [], {}
    with tempfile.TemporaryDirectory(prefix=f"ilforge-{env}-predict-") as tmp:
        write_frames(Path(tmp) / FRAMES_FILE, frames)
        res = run_in_env(env, worker, {**task, "frames": FRAMES_FILE}, tmp, threads=threads)
        with np.load(Path(tmp) / PREDICTIONS_FILE) as npz:
            energy, forces, stress, natoms = (npz[k] for k in ("energy", "forces", "stress", "natoms"))
    splits = np.split(forces, np.cumsum(natoms)[:-1])
    preds = [{"energy": float(e), "forces": np.array(f), "stress": None if np.isnan(s).any() else np.array(s)}
             for e, f, s in zip(energy, splits, stress)]
    return preds, res
