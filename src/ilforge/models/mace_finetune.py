"""Fine-tuning a foundation model on ilforge's labelled frames (mace-torch's two ways).

- ``naive``: start from the foundation model's weights and train all of them on the new data
  (architecture and cutoff come from the foundation model).
- ``multihead``: add a head for the new data and keep training a replay head on the foundation
  model's own training data, which limits forgetting (mace-torch's ``--multiheads_finetuning``).
  The replay data is the foundation model's ``train.extxyz`` when it is an ilforge model, or a file
  given as ``extra: {pt_train_file: ...}``.

Only local model files are used: nothing is downloaded. The MACE backend applies
:func:`foundation_settings` itself whenever ``settings.foundation_model`` is set, so a fine-tuned
model trains through the same path (tasks, committees) as any other.
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms

from ilforge.errors import IlforgeError
from ilforge.models.artifact import MODEL_JSON, ModelArtifact
from ilforge.models.mace_settings import ARCHITECTURE_KEYS, MaceSettings


def foundation_settings(settings: MaceSettings) -> MaceSettings:
    """``settings`` set up to fine-tune ``settings.foundation_model`` (a model file or an ilforge model
    directory).

    When the foundation is an ilforge model, its architecture and precision are copied so that the
    arguments given to mace agree with the weights being loaded.
    """
    path = Path(str(settings.foundation_model))
    update: dict = {}
    if path.is_dir():
        art = ModelArtifact.load(path)
        update["foundation_model"] = str(art.model_file.resolve())
        fs = art.info.get("settings", {})
        for key in ("preset", *ARCHITECTURE_KEYS, "dtype"):
            if key in fs:
                update[key] = fs[key]
    elif path.is_file():
        update["foundation_model"] = str(path.resolve())
        if settings.finetune == "multihead" and not (path.parent / MODEL_JSON).is_file() and "pt_train_file" not in settings.extra:
            raise IlforgeError(
                f"multihead fine-tuning of {path} needs its training data for the replay head: give "
                "training.extra.pt_train_file (an extxyz file)"
            )
    else:
        raise IlforgeError(f"foundation model {path} not found (give a local MACE model file or an ilforge model directory)")
    return settings.model_copy(update=update)


def finetune(
    settings: MaceSettings,
    foundation: str | Path,
    train_frames: list[Atoms],
    valid_frames: list[Atoms],
    model_dir: str | Path,
    mode: str = "naive",
    isolated_energies: dict[str, float] | None = None,
) -> ModelArtifact:
    """Fine-tune ``foundation`` on the frames; the artifact's model.json records the foundation and mode."""
    from ilforge.models.mace_backend import MaceBackend

    if mode not in ("naive", "multihead"):
        raise IlforgeError(f"fine-tuning mode {mode!r}: choose 'naive' or 'multihead'")
    ft = MaceSettings.model_validate({**settings.model_dump(), "foundation_model": str(foundation), "finetune": mode})
    return MaceBackend().train(ft, train_frames, valid_frames, model_dir, isolated_energies=isolated_energies)
