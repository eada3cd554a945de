"""The MLIP backend interface and the checks every training set must pass.

A backend turns labelled frames into a model and a model into an ASE calculator; backends are
chosen by name from :mod:`ilforge.models.registry`::

    backend = get_backend("<name>")
    artifact = backend.train(settings, train_frames, valid_frames, model_dir)   # -> ModelArtifact
    preds = backend.predict(artifact, frames)   # batched: list of {"energy", "forces", "stress"}
    calc = backend.load_calculator(artifact, device="cpu", dtype="float64")   # -> ase Calculator

Frames are :class:`ase.Atoms` with the label keys of :mod:`ilforge.keys` (``REF_energy`` eV,
``REF_forces`` eV/Å, ``REF_stress`` eV/Å³ Voigt) and ``level_of_theory`` in ``info``. A committee
of models is a :class:`~ilforge.models.committee.Committee`. Every backend must pass the
conformance kit :mod:`ilforge.models.testing`.
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
    """An MLIP implementation. ``settings_class`` validates its recipe section."""

    name: str = ""
    settings_class: type[TrainingSettings] = TrainingSettings

    @abstractmethod
    def train(
        self,
        settings: TrainingSettings,
        train_frames: list[Atoms],
        valid_frames: list[Atoms],
        model_dir: str | Path,
        isolated_energies: dict[str, float] | None = None,
    ) -> ModelArtifact:
        """Fit a model into ``model_dir`` (``models/<name>/`` or a committee member's folder): the model
        file, ``model.json`` and ``training_curve.json``. ``isolated_energies``: element -> eV (E0s)."""

    @abstractmethod
    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Batched predictions: one dict per frame with ``energy`` (eV), ``forces`` (n, 3) eV/Å and
        ``stress`` (6,) eV/Å³ Voigt (ASE sign convention) or None for a frame without a periodic cell."""

    @abstractmethod
    def load_calculator(self, model: ModelArtifact | str | Path, device: str = "cpu", dtype: str | None = None):
        """An ASE calculator (energy eV, forces eV/Å, stress eV/Å³) of a trained model: an artifact, or
        the path of the backend's own model file. ``dtype`` None: the precision the model was trained in."""

    def training_frames(self, artifact: ModelArtifact) -> tuple[list[Atoms], list[Atoms]]:
        """(train, valid): the frames ``artifact`` was fitted and validated on, as the backend kept them
        (learning curves retrain on subsets of them)."""
        raise NotImplementedError(f"backend {self.name!r} does not keep its training frames")

    def calculator_factory(self, artifacts: list[ModelArtifact], device: str = "cpu", dtype: str = "float64"):
        """A picklable recipe for the calculator of ``artifacts`` (one model or a committee), built in
        whichever process runs MD: :class:`~ilforge.models.committee.ModelCalculatorFactory`."""
        from ilforge.models.committee import ModelCalculatorFactory

        return ModelCalculatorFactory(self.name, tuple(str(a.directory) for a in artifacts), device, dtype)


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
