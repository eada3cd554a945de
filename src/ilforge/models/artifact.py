"""A trained model on disk: ``models/<name>/`` with the model file and ``model.json``.

``model.json`` records what is needed to trust and reproduce the model: the backend, the model
file, a hash of the training data (SHA-256 over the frames' content and labels), the level of
theory of the labels, the reference energies E0 (values and method), the settings, the metrics
on the validation frames and the timings. Every backend also writes ``training_curve.json``
(:func:`write_training_curve`): the validation errors per epoch in one backend-neutral form,
read with :meth:`ModelArtifact.training_curve`.

Loading (:meth:`ModelArtifact.load`) checks, before any expensive setup, that ``model.json`` is
readable and names a backend and a model file, that the file exists, and (when the backend defines
``check_model_file(path)``) that the file is complete; each failure is a :class:`ModelError` naming the
file and the fix. ``model.json`` is written last (atomically) by a fit: the marker after the data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge.errors import IlforgeError
from ilforge.jsonio import write_json_atomic
from ilforge.store.hashing import frame_hash

MODEL_JSON = "model.json"
TRAINING_CURVE_JSON = "training_curve.json"
#: the lists of ``training_curve.json`` (same length; None where a backend does not know a value).
#: losses are the backend's own (dimensionless weighted sums); errors on the validation frames are
#: energy per atom in meV/atom and force components in meV/Å
CURVE_KEYS = ("epochs", "train_loss", "valid_loss", "valid_energy_rmse_meV_atom", "valid_forces_rmse_meV_A",
              "valid_energy_mae_meV_atom", "valid_forces_mae_meV_A")


class ModelError(IlforgeError):
    """A model directory is missing or incomplete."""


def frames_hash(frames: list[Atoms]) -> str:
    """Order-independent SHA-256 of a set of labelled frames (sorted per-frame hashes of structure and
    labels, :func:`ilforge.store.hashing.frame_hash` with ``with_labels=True``)."""
    h = hashlib.sha256()
    for fh in sorted(frame_hash(a, with_labels=True) for a in frames):
        h.update(fh.encode())
    return h.hexdigest()


@dataclass
class ModelArtifact:
    """A model directory and its ``model.json`` (``info``)."""

    directory: Path
    info: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.get("name", self.directory.name)

    @property
    def backend(self) -> str:
        return self.info["backend"]

    @property
    def model_file(self) -> Path:
        return self.directory / self.info["model_file"]

    @property
    def elements(self) -> list[str]:
        return list(self.info.get("elements", []))

    @property
    def level_of_theory(self) -> str | None:
        return self.info.get("level_of_theory")

    def training_curve(self) -> dict | None:
        """``training_curve.json`` of this model (:data:`CURVE_KEYS` -> lists), or None when absent."""
        path = self.directory / TRAINING_CURVE_JSON
        return json.loads(path.read_text()) if path.is_file() else None

    def save(self) -> Path:
        return write_json_atomic(self.directory / MODEL_JSON, self.info, indent=2, sort_keys=True)

    @classmethod
    def load(cls, directory: str | Path) -> "ModelArtifact":
        """The model in ``directory``, checked (see the module docstring); cheap next to loading it."""
        directory = Path(directory)
        path = directory / MODEL_JSON
        if not path.is_file():
            raise ModelError(f"{path} not found: {directory} is not a trained ilforge model (run `ilforge train` first)")
        art = cls(directory, read_model_json(path))
        if not art.model_file.is_file():
            raise ModelError(f"model file {art.model_file} named in {path} is missing; train the model again")
        check_model_file(art.backend, art.model_file, path)
        return art


def read_model_json(path: Path) -> dict:
    """``model.json`` as a dict with at least ``backend`` and ``model_file`` (strings), or a :class:`ModelError`."""
    fix = "train the model again (`ilforge train`), or restore the file from a copy"
    try:
        info = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise ModelError(f"{path} is corrupt (not JSON: {exc}); {fix}") from None
    if not isinstance(info, dict):
        raise ModelError(f"{path} is corrupt (a JSON {type(info).__name__}, not an object); {fix}")
    for key in ("backend", "model_file"):
        if not isinstance(info.get(key), str) or not info[key]:
            raise ModelError(f"{path} is corrupt ({key!r} missing or not a string); {fix}")
    if Path(info["model_file"]).name != info["model_file"]:
        raise ModelError(f"{path}: model_file {info['model_file']!r} must be a file name inside {path.parent}; {fix}")
    return info


def check_model_file(backend: str, model_file: Path, model_json: Path) -> None:
    """The backend's own check of a model file (``check_model_file(path)`` on its class), if it has one."""
    from ilforge.models.registry import backend_class

    try:
        cls = backend_class(backend)
    except IlforgeError as exc:
        raise ModelError(f"{model_json}: {exc}") from None
    check = getattr(cls, "check_model_file", None)
    if check is not None:
        check(model_file)


def write_training_curve(model_dir: str | Path, rows: list[dict]) -> Path:
    """Write ``<model_dir>/training_curve.json`` from one dict per epoch (keys of :data:`CURVE_KEYS`,
    missing ones become None), sorted by epoch: ``{"epochs": [...], "train_loss": [...], ...}``."""
    rows = sorted(rows, key=lambda r: r["epochs"])
    doc = {k: [_finite_or_none(r.get(k)) for r in rows] for k in CURVE_KEYS}
    doc["epochs"] = [int(r["epochs"]) for r in rows]
    return write_json_atomic(Path(model_dir) / TRAINING_CURVE_JSON, doc)


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
