"""A trained model on disk: ``models/<name>/`` with the model file and ``model.json``.

``model.json`` records what is needed to trust and reproduce the model: the backend, the model
file, a hash of the training data (SHA-256 over the frames' content and labels), the level of
theory of the labels, the reference energies E0 (values and method), the settings, the metrics
on the validation frames and the timings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError

MODEL_JSON = "model.json"


class ModelError(IlforgeError):
    """A model directory is missing or incomplete."""


def frame_hash(atoms: Atoms) -> str:
    """SHA-256 of one frame's numbers, positions, cell, pbc and reference labels (rounded to 1e-8)."""
    h = hashlib.sha256()
    h.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    for arr in (atoms.positions, np.asarray(atoms.cell), atoms.pbc.astype(float)):
        h.update(np.round(np.asarray(arr, dtype=float), 8).tobytes())
    for key in (keys.REF_ENERGY, keys.REF_STRESS):
        if key in atoms.info:
            h.update(np.round(np.asarray(atoms.info[key], dtype=float), 8).tobytes())
    if keys.REF_FORCES in atoms.arrays:
        h.update(np.round(atoms.arrays[keys.REF_FORCES], 8).tobytes())
    return h.hexdigest()


def frames_hash(frames: list[Atoms]) -> str:
    """Order-independent SHA-256 of a set of frames (sorted per-frame hashes)."""
    h = hashlib.sha256()
    for fh in sorted(frame_hash(a) for a in frames):
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

    def save(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / MODEL_JSON
        path.write_text(json.dumps(self.info, indent=2, sort_keys=True, default=_jsonable))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> "ModelArtifact":
        directory = Path(directory)
        path = directory / MODEL_JSON
        if not path.is_file():
            raise ModelError(f"{path} not found: {directory} is not a trained ilforge model (run `ilforge train` first)")
        art = cls(directory, json.loads(path.read_text()))
        if not art.model_file.is_file():
            raise ModelError(f"model file {art.model_file} named in {path} is missing; train the model again")
        return art


def _jsonable(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")
