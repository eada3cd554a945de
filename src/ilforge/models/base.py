"""The MLIP backend interface and the checks every training set must pass.

A backend turns labelled frames into a model and a model into an ASE calculator::

    backend = get_backend("mace")
    artifact = backend.train(settings, train_frames, valid_frames, workdir)   # -> ModelArtifact
    calc = backend.calculator(artifact, device="cpu")                         # -> ase Calculator
    preds = backend.predict(artifact, frames)   # batched: list of {"energy", "forces", "stress"}

Frames are :class:`ase.Atoms` with the MACE label keys (``REF_energy`` eV, ``REF_forces`` eV/Å,
``REF_stress`` eV/Å³ Voigt) and ``level_of_theory`` in ``info``. A committee is a list of artifacts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact
from ilforge.models.settings import TrainingSettings


class TrainingDataError(IlforgeError):
    """The frames given for training or validation cannot be used as they are."""


class Backend(ABC):
    """An MLIP implementation (MACE first)."""

    name: str = ""

    @abstractmethod
    def train(
        self,
        settings: TrainingSettings,
        train_frames: list[Atoms],
        valid_frames: list[Atoms],
        workdir: str | Path,
        isolated_energies: dict[str, float] | None = None,
    ) -> ModelArtifact:
        """Fit a model; ``workdir`` becomes the model directory (``models/<name>/``)."""

    @abstractmethod
    def calculator(self, artifact: ModelArtifact, device: str = "cpu"):
        """An ASE calculator giving energy (eV), forces (eV/Å) and stress (eV/Å³)."""

    @abstractmethod
    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Batched predictions: one dict per frame with ``energy`` (eV), ``forces`` (n, 3) and ``stress`` (6,) or None."""


def get_backend(name: str) -> Backend:
    """The backend called ``name``."""
    if name == "mace":
        from ilforge.models.mace_backend import MaceBackend

        return MaceBackend()
    raise IlforgeError(f"unknown MLIP backend {name!r}; available: ['mace']")


def is_labelled(atoms: Atoms) -> bool:
    return keys.REF_ENERGY in atoms.info and keys.REF_FORCES in atoms.arrays


def level_of_theory(frames: list[Atoms], what: str = "training frames") -> str | None:
    """The one level of theory of ``frames`` (None if no frame names one); mixed levels are an error."""
    levels = sorted({str(a.info[keys.LEVEL_OF_THEORY]) for a in frames if keys.LEVEL_OF_THEORY in a.info})
    if len(levels) > 1:
        raise TrainingDataError(
            f"the {what} mix labels from {len(levels)} levels of theory {levels}: energies of different methods "
            "cannot be fitted together. Choose one (`--level-of-theory`)."
        )
    return levels[0] if levels else None


def check_labelled(frames: list[Atoms], what: str = "training frames") -> None:
    """Raise if ``frames`` is empty or holds unlabelled frames."""
    if not frames:
        raise TrainingDataError(
            f"no labelled {what}: label frames first (`ilforge label`), or give an extxyz file with "
            "REF_energy / REF_forces (`--frames FILE`)"
        )
    bad = [i for i, a in enumerate(frames) if not is_labelled(a)]
    if bad:
        raise TrainingDataError(
            f"{len(bad)} of the {what} (e.g. index {bad[0]}) have no {keys.REF_ENERGY} / {keys.REF_FORCES} labels; "
            "label them first (`ilforge label`)"
        )


def check_elements_covered(train_elements: list[str], frames: list[Atoms], what: str = "test frames") -> None:
    """Raise if ``frames`` contain an element the model was never trained on."""
    present = sorted({s for a in frames for s in a.get_chemical_symbols()})
    missing = [s for s in present if s not in set(train_elements)]
    if missing:
        raise TrainingDataError(
            f"the {what} contain element(s) {missing} absent from the training data (trained on {sorted(train_elements)}): "
            "the model has no parameters for them. Add frames with these elements to the training set."
        )
