"""MACE backend: ilforge's typed settings -> mace-torch 0.3.16's trainer; MACE models as predictors
and ASE calculators.

Training writes the training and validation frames as extxyz (label keys ``REF_energy``,
``REF_forces``, ``REF_stress``), passes the reference energies E0 explicitly (``--E0s``), runs
mace-torch's own training loop in this process (:mod:`ilforge.models.mace_cli`) and records
``model.json`` and the normalised ``training_curve.json`` (from mace's ``mace_results/*_train.txt``).
A MACE model file is loaded in one place, :func:`load_mace_model`; predictions (batched, the data
path of ``mace_eval_configs``) and calculators (``MACECalculator``) both start from it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError, require
from ilforge.labels import voigt
from ilforge.models.artifact import ModelArtifact, ModelError, frames_hash, write_training_curve
from ilforge.models.base import Backend
from ilforge.models.data import read_frames_file, split_training_frames, write_frames
from ilforge.models.e0s import E0s, resolve_e0s
from ilforge.models.mace_finetune import foundation_settings
from ilforge.models.mace_cli import (
    LOG_DIR, MODEL_STEM, RESULTS_DIR, TRAIN_FILE, VALID_FILE, epoch_log, mace_arguments, mace_module,
    run_mace_train,
)
from ilforge.models.mace_settings import MaceSettings
from ilforge.models.metrics import compute_metrics
from ilforge.units import EV_TO_MEV

log = logging.getLogger(__name__)

# `import mace` sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (mace-torch 0.3.16; undone by mace_module), and torch
# warns at every torch.load while it is set (mace's training sets it again): expected, and terminal noise.
warnings.filterwarnings("ignore", message="Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected", category=UserWarning)

#: the mace modules ilforge uses, imported together so that none sets torch's unsafe-load default later
_MACE_MODULES = ("mace", "mace.calculators", "mace.tools", "mace.data", "mace.modules")


def import_mace():
    """Import mace under torch >= 2.6: e3nn 0.4.4 (a mace dependency) loads its constants with
    ``torch.load`` whose default became ``weights_only=True``; that load needs ``slice`` allowlisted.
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, which importing mace sets for the whole process, is restored
    to its previous value (:func:`~ilforge.models.mace_cli.mace_module`)."""
    torch = require("torch", "mace")
    torch.serialization.add_safe_globals([slice])
    for name in _MACE_MODULES[1:]:
        mace_module(name)
    return mace_module("mace")


def check_model_file(path: str | Path) -> Path:
    """Refuse a MACE model file that cannot be a complete one, without unpickling anything: ``torch.save``
    writes a zip archive with a ``data.pkl`` member; random bytes, a truncated copy or a damaged member
    (CRC) are a :class:`~ilforge.models.artifact.ModelError` naming the file and the fix. Reads the file
    once (a fraction of a second for MB-sized models): run before any expensive setup."""
    path = Path(path)
    fix = "train the model again (`ilforge train`) or copy the complete file again"
    if not path.is_file():
        raise ModelError(f"model file {path} not found; train one with `ilforge train` or give the path")
    if path.stat().st_size == 0 or not zipfile.is_zipfile(path):
        raise ModelError(f"model file {path} is empty, truncated or not a MACE (torch.save) model; {fix}")
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelError(f"model file {path} is damaged ({exc}); {fix}") from None
    if bad is not None or not any(n.endswith("data.pkl") for n in names):
        raise ModelError(f"model file {path} is damaged ({'member ' + bad if bad else 'no data.pkl'}); {fix}")
    return path


def load_mace_model(path: str | Path, device: str = "cpu"):
    """The one way a MACE model file is loaded (a pickled ``torch.nn.Module``).

    A model file is code: unpickling it runs whatever it names. mace 0.3.16 stores whole pickled
    modules, so this function (and only this one) calls ``torch.load(weights_only=False)``; load only
    files you trust (your own training runs). The file is checked first (:func:`check_model_file`) and a
    load that fails anyway is an :class:`~ilforge.errors.IlforgeError` naming the file.
    """
    import_mace()
    import torch

    path = check_model_file(path)
    log.debug("loading MACE model file %s (pickled code: weights_only=False)", path)
    try:
        return torch.load(f=str(path), map_location=device, weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, AttributeError, ModuleNotFoundError, ValueError) as exc:
        raise ModelError(f"model file {path} cannot be loaded ({type(exc).__name__}: {exc}); train the model again "
                         "(`ilforge train`) or use a model written by this mace version") from None


def mace_calculator(model_files: list[str | Path], device: str = "cpu", dtype: str = "float64"):
    """mace's ``MACECalculator`` of one model file (or several, evaluated as mace does)."""
    import_mace()
    from mace.calculators import MACECalculator

    models = [load_mace_model(p, device) for p in model_files]
    return MACECalculator(models=models, device=device, default_dtype=dtype)


def model_elements(model_file: Path) -> list[str]:
    """Element symbols a MACE model has parameters for (its atomic-number table)."""
    from ase.data import chemical_symbols

    return [chemical_symbols[int(z)] for z in load_mace_model(model_file).atomic_numbers]


def mace_training_curve(model_dir: Path) -> list[dict]:
    """Rows of the normalised training curve from mace's ``mace_results/*_train.txt`` (JSON lines):
    per epoch the training loss (``mode: opt``) and, on the validation frames (``mode: eval``, the
    ``Default`` head), the loss, energy RMSE/MAE per atom and force RMSE/MAE, converted to meV."""
    rows: dict[int, dict] = {}
    for path in sorted((Path(model_dir) / RESULTS_DIR).glob("*_train.txt")):
        for line in path.read_text().splitlines():
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                continue
            if d.get("epoch") is None or d.get("head", "Default") != "Default":
                continue
            row = rows.setdefault(int(d["epoch"]), {"epochs": int(d["epoch"])})
            if d.get("mode") == "opt":
                row["train_loss"] = d.get("loss")
            elif d.get("mode") == "eval":
                row["valid_loss"] = d.get("loss")
                for src, dst in (("rmse_e_per_atom", "valid_energy_rmse_meV_atom"), ("rmse_f", "valid_forces_rmse_meV_A"),
                                 ("mae_e_per_atom", "valid_energy_mae_meV_atom"), ("mae_f", "valid_forces_mae_meV_A")):
                    if d.get(src) is not None:
                        row[dst] = float(d[src]) * EV_TO_MEV
    return list(rows.values())


#: the folder inside a model directory where a fit runs; its files replace the previous fit's only once
#: the fit is complete, so a failed or killed retraining keeps the previous good model
FIT_DIR = "_fit"


def _fresh_fit_dir(model_dir: Path) -> Path:
    """An empty ``<model_dir>/_fit``: mace would otherwise resume from (and finally load) stale
    checkpoints of an earlier (killed) fit, and append to its old training log."""
    fit = model_dir / FIT_DIR
    shutil.rmtree(fit, ignore_errors=True)
    fit.mkdir(parents=True)
    return fit


def _promote_fit(fit: Path, model_dir: Path) -> None:
    """Move a complete fit from ``fit`` into ``model_dir``, each entry by a rename, model files last;
    model files of the previous fit that this one did not write are removed. The caller writes
    ``model.json`` afterwards (the marker after the data)."""
    entries = sorted(fit.iterdir(), key=lambda p: p.suffix == ".model")
    for src in entries:
        dst = model_dir / src.name
        if src.is_dir():
            shutil.rmtree(dst, ignore_errors=True)
        os.replace(src, dst)
    new = {p.name for p in entries}
    for stale in model_dir.glob(f"{MODEL_STEM}*.model"):
        if stale.name not in new:
            stale.unlink()
    fit.rmdir()


def _final_model_file(settings: MaceSettings, model_dir: Path) -> Path:
    model_file = model_dir / f"{MODEL_STEM}.model"
    if settings.extra.get("swa") and (model_dir / f"{MODEL_STEM}_stagetwo.model").is_file():
        model_file = model_dir / f"{MODEL_STEM}_stagetwo.model"
    if not model_file.is_file():
        raise IlforgeError(f"MACE training finished without writing {model_file}; see {model_dir / LOG_DIR}")
    return model_file


def _model_info(settings: MaceSettings, model_dir: Path, model_file: Path, train, valid, level, e0s: E0s, argv, times) -> dict:
    """``model.json`` of a fitted model (provenance, data hashes, E0s, settings, timings)."""
    t0, t1, t2 = times
    info = {
        "name": model_dir.name,
        "backend": MaceBackend.name,
        "model_file": model_file.name,
        "mace_version": import_mace().__version__,
        "level_of_theory": level,
        "elements": model_elements(model_file),  # the training data's, plus a foundation model's
        "training_data_hash": frames_hash(train),
        "validation_data_hash": frames_hash(valid),
        "n_train": len(train),
        "n_valid": len(valid),
        "n_atoms_train": int(sum(len(a) for a in train)),
        "compositions_train": sorted({str(a.info.get(keys.COMPOSITION_ID, "")) for a in train}),
        "e0s": e0s.to_json(),
        "settings": settings.model_dump(mode="json"),
        "mace_arguments": argv,
        "timings_s": {"prepare": t1 - t0, "train": t2 - t1, "per_epoch": (t2 - t1) / settings.max_epochs},
        "torch_threads": require("torch", "mace").get_num_threads(),  # the timings' context
    }
    if settings.foundation_model:
        info["foundation"] = {"model": settings.foundation_model, "mode": settings.finetune}
    return info


class MaceBackend(Backend):
    """MACE (mace-torch 0.3.16) as an ilforge backend."""

    name = "mace"
    settings_class = MaceSettings
    #: a cheap completeness check of a model file, run by ModelArtifact.load before any setup
    check_model_file = staticmethod(check_model_file)
    #: per-epoch validation errors of a fit in progress (read by the training progress line)
    epoch_log = staticmethod(epoch_log)

    def train(self, settings, train_frames: list[Atoms], valid_frames: list[Atoms], model_dir: str | Path,
              isolated_energies: dict[str, float] | None = None) -> ModelArtifact:
        settings = settings if isinstance(settings, MaceSettings) else MaceSettings.model_validate(settings.model_dump())
        if settings.foundation_model:
            settings = foundation_settings(settings)
        model_dir = Path(model_dir).resolve()
        model_dir.mkdir(parents=True, exist_ok=True)
        train, valid, isolated, level = split_training_frames(settings, train_frames, valid_frames)
        if settings.batch_size > len(train):  # mace drops incomplete training batches: keep at least one
            log.warning("batch_size %d > %d training frames: using batch_size %d", settings.batch_size, len(train), len(train))
            settings = settings.model_copy(update={"batch_size": len(train)})
        e0s = resolve_e0s(train + isolated, settings.e0s, isolated_energies)
        t0 = time.perf_counter()
        fit = _fresh_fit_dir(model_dir)
        write_frames(fit / TRAIN_FILE, train)
        write_frames(fit / VALID_FILE, valid)
        argv = mace_arguments(settings, fit, e0s, fit / TRAIN_FILE, fit / VALID_FILE)
        t1 = time.perf_counter()
        log.info("training MACE (%s preset) on %d frames, validating on %d, in %s", settings.preset, len(train), len(valid), fit)
        run_mace_train(argv)
        t2 = time.perf_counter()
        model_file = _final_model_file(settings, fit)
        argv = [a.replace(str(fit), str(model_dir)) for a in argv]  # where the files are once promoted
        artifact = ModelArtifact(fit, _model_info(settings, model_dir, model_file, train, valid, level, e0s, argv, (t0, t1, t2)))
        t3 = time.perf_counter()
        artifact.info["metrics_valid"] = compute_metrics(valid, self.predict(artifact, valid, device=settings.device))["overall"]
        artifact.info["timings_s"]["metrics"] = time.perf_counter() - t3
        write_training_curve(fit, mace_training_curve(fit))
        _promote_fit(fit, model_dir)
        artifact.directory = model_dir
        artifact.save()
        return artifact

    def training_frames(self, artifact: ModelArtifact) -> tuple[list[Atoms], list[Atoms]]:
        return read_frames_file(artifact.directory / TRAIN_FILE), read_frames_file(artifact.directory / VALID_FILE)

    def load_calculator(self, model: ModelArtifact | str | Path, device: str = "cpu", dtype: str | None = None):
        if isinstance(model, ModelArtifact):
            dtype = dtype or model.info.get("settings", {}).get("dtype", "float64")
            model = model.model_file
        return mace_calculator([model], device=device, dtype=dtype or "float64")

    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Batched evaluation as ``mace_eval_configs`` does it (same data path, same model file)."""
        torch = require("torch", "mace")
        from mace.tools import torch_tools

        if not frames:
            return []
        old_dtype = torch.get_default_dtype()
        torch_tools.set_default_dtype(artifact.info.get("settings", {}).get("dtype", "float64"))
        try:
            model = load_mace_model(artifact.model_file, device).to(device)
            for p in model.parameters():
                p.requires_grad = False
            return [pred for batch in _batches(model, frames, batch_size) for pred in _evaluate(model, batch.to(device), frames)]
        finally:
            torch.set_default_dtype(old_dtype)


def _batches(model, frames: list[Atoms], batch_size: int):
    """mace's data loader over ``frames`` (the model's element table, cutoff and head)."""
    mace_data = require("mace.data", "mace")
    from mace.tools import torch_geometric, utils

    heads = getattr(model, "heads", None)
    head = "Default" if heads is None or "Default" in heads else heads[-1]
    z_table = utils.AtomicNumberTable([int(z) for z in model.atomic_numbers])
    dataset = [
        mace_data.AtomicData.from_config(mace_data.config_from_atoms(a, head_name=head), z_table=z_table, cutoff=float(model.r_max), heads=heads)
        for a in frames
    ]
    return torch_geometric.dataloader.DataLoader(dataset=dataset, batch_size=batch_size, shuffle=False, drop_last=False)


def _evaluate(model, batch, frames: list[Atoms]) -> list[dict]:
    """One batch: energy (eV), forces (n, 3) eV/Å, stress (6,) eV/Å³ Voigt when every frame is periodic."""
    from mace.tools import torch_tools

    stress = all(a.pbc.all() and a.get_volume() > 0 for a in frames)
    res = model(batch.to_dict(), compute_stress=stress)
    energies = torch_tools.to_numpy(res["energy"])
    forces = np.split(torch_tools.to_numpy(res["forces"]), batch.ptr[1:].cpu().numpy(), axis=0)[:-1]
    stresses = torch_tools.to_numpy(res["stress"]) if stress else [None] * len(energies)
    return [{"energy": float(e), "forces": np.array(f, dtype=float), "stress": None if s is None else voigt(s)}
            for e, f, s in zip(energies, forces, stresses)]
