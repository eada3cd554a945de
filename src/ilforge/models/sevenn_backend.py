"""SevenNet backend (sevenn 0.13) in its own environment (``ilforge env create sevenn``): the
foundation model SevenNet-0 zero-shot, or fine-tuned on the user's labels after its per-element
energy shifts are refitted to their level of theory, or SevenNet's architecture trained from scratch
(:mod:`ilforge.models.sevenn_settings`).

Every fit leaves ``model.pth`` (a SevenNet checkpoint: the foundation model's own for zero-shot,
the best fine-tuned or from-scratch one otherwise) and ``model.json`` with ``foundation_model``, the shift refit
(``shift_refit``: δ per element in eV, rank, residual before and after) and the metrics. ``e0s``
records the model's per-element shifts μ_Z (eV), the atom-additive part of E = Σ_i [s_Z ε_i + μ_Z];
unlike the other backends' E0s an isolated atom does not get exactly μ_Z (s_Z ε_i of an atom alone is not 0).

Prediction and the MD calculator run in the environment through
:mod:`ilforge.envs.workers.sevenn_worker` (batched worker task; ASE socket client for MD).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.envs.socket_calc import SocketCalculatorFactory
from ilforge.envs.subprocess_task import run_in_env
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact, ModelError, frames_hash
from ilforge.models.base import Backend
from ilforge.models.data import split_training_frames, write_frames
from ilforge.models.env_backend import TRAIN_FILE, VALID_FILE, finish_fit, kept_frames, predict_in_env
from ilforge.models.e0s import count_matrix, elements_of
from ilforge.models.sevenn_settings import SevennSettings
from ilforge.plan import linalg
from ilforge.units import EV_TO_MEV

log = logging.getLogger(__name__)

ENV = "sevenn"
WORKER = "sevenn_worker"
MODEL_FILE = "model.pth"
BASE_FILE = "base_refit.pth"
#: a from-scratch fit's best checkpoint before its shift refit
SCRATCH_FILE = "scratch_trained.pth"
INPUT_FILE = "input.yaml"
FIT_DIR = "_fit"
#: what sevenn reads: the frames with their labels only (train.extxyz / valid.extxyz keep everything)
SEVENN_TRAIN_FILE = "sevenn_train.extxyz"
SEVENN_VALID_FILE = "sevenn_valid.extxyz"


def refit_shifts(counts: np.ndarray, residuals_eV: np.ndarray, elements: list[str],
                 isolated_delta_eV: dict[str, float] | None = None) -> dict:
    """Per-element shift changes δ (eV) with N δ ≈ r in the least-squares sense.

    ``counts``: N (n_frames × n_elements); ``residuals_eV``: r_f = E_ref,f − E_model,f. The
    minimum-norm solution δ₀ = N⁺ r fixes the combinations the frames determine; the undetermined
    ones (null space of N, orthonormal basis B) are δ_iso projected on it, B Bᵀ δ_iso, when
    ``isolated_delta_eV`` (E0_ref[Z] − E_model(isolated Z)) covers every element, else 0.
    Returns ``delta_eV`` (symbol -> eV), ``rank``, the undetermined combinations as text and the
    RMS residual per atom (eV/atom) before and after."""
    n = np.asarray(counts, dtype=float)
    r = np.asarray(residuals_eV, dtype=float)
    delta = np.linalg.pinv(n) @ r
    rank = linalg.rank(n)
    undetermined = []
    if rank < len(elements):
        null = linalg.null_space_basis(n, len(elements))  # rows span the null space
        basis, _ = np.linalg.qr(np.atleast_2d(null).T)
        undetermined = [linalg.combination_text(v, elements, "δ") for v in linalg.rref(np.atleast_2d(null))]
        if isolated_delta_eV and all(e in isolated_delta_eV for e in elements):
            iso = np.array([isolated_delta_eV[e] for e in elements])
            delta = delta + basis @ (basis.T @ iso)
    per_atom = n.sum(axis=1)
    return {"delta_eV": dict(zip(elements, map(float, delta))), "rank": int(rank), "undetermined": undetermined,
            "from_isolated": bool(undetermined and isolated_delta_eV and all(e in isolated_delta_eV for e in elements)),
            "rmse_per_atom_before_eV": float(np.sqrt(np.mean((r / per_atom) ** 2))),
            "rmse_per_atom_after_eV": float(np.sqrt(np.mean(((r - n @ delta) / per_atom) ** 2)))}


def labels_only(frames: list[Atoms]) -> list[Atoms]:
    """Copies of ``frames`` with numbers, positions, cell, periodicity and the labels (``REF_energy`` eV,
    ``REF_stress`` eV/Å³ when present, ``REF_forces`` eV/Å) only. sevenn turns every info and array key
    of an extxyz frame into a graph attribute, and its batching fails (``KeyError``) when the frames
    of a batch carry different keys (sampled frames have ``forcefield``, rattled ones not)."""
    out = []
    for a in frames:
        b = Atoms(numbers=a.numbers, positions=a.positions, cell=a.cell, pbc=a.pbc)
        b.info = {k: a.info[k] for k in (keys.REF_ENERGY, keys.REF_STRESS) if k in a.info}
        b.arrays[keys.REF_FORCES] = np.array(a.arrays[keys.REF_FORCES], dtype=float)
        out.append(b)
    return out


def train_input(settings: SevennSettings, base_checkpoint: str | None, with_stress: bool) -> dict:
    """sevenn's input with ilforge's settings: epochs, batch size, learning rate, force weight w_F/w_E,
    stress, seed and the data files (labels read from ``REF_energy``/``REF_forces``/``REF_stress`` of the
    extxyz frames). With ``base_checkpoint``: the ``fine_tune`` preset continued from it (its model block is
    read from the checkpoint by the worker); without: the ``base`` preset from random weights with the
    scratch architecture, shifts from sevenn's per-element energy fit and scale = RMS force."""
    fmt = {"index": ":", "energy_key": keys.REF_ENERGY, "force_key": keys.REF_FORCES}
    if with_stress:
        fmt["stress_key"] = keys.REF_STRESS
    ratio = settings.forces_weight / settings.energy_weight if settings.energy_weight else settings.forces_weight
    model = {"chemical_species": "Auto", "train_shift_scale": False, "train_denominator": False}
    data = {"batch_size": settings.batch_size, "data_format_args": fmt,
            "load_trainset_path": [f"./{SEVENN_TRAIN_FILE}"], "load_validset_path": [f"./{SEVENN_VALID_FILE}"]}
    train = {"random_seed": settings.effective_seed(), "is_train_stress": with_stress, "epoch": settings.max_epochs,
             "loss": "Huber", "loss_param": {"delta": 0.01}, "optimizer": "adam",
             "optim_param": {"lr": settings.learning_rate}, "scheduler": "exponentiallr",
             "scheduler_param": {"gamma": 0.99}, "force_loss_weight": float(ratio),
             "stress_loss_weight": settings.sevenn_stress_weight if with_stress else 0.0,
             "per_epoch": settings.max_epochs,
             "error_record": [["Energy", "RMSE"], ["Force", "RMSE"], ["Stress", "RMSE"], ["TotalLoss", "None"]]}
    if base_checkpoint is not None:
        train["continue"] = {"reset_optimizer": True, "reset_scheduler": True, "reset_epoch": True,
                             "checkpoint": base_checkpoint}
    else:
        model.update({"cutoff": settings.cutoff_A, "channel": settings.channel, "lmax": settings.lmax,
                      "num_convolution_layer": settings.num_convolution_layer})
        data.update({"shift": "elemwise_reference_energies", "scale": "force_rms"})
    return {"model": model, "train": train, "data": data}


def read_lc(path: Path) -> list[dict]:
    """Rows of ``training_curve.json`` from sevenn's ``lc.csv`` (``epoch, lr, trainset_Energy_RMSE, ...``;
    energies per atom in eV, forces in eV/Å)."""
    if not path.is_file():
        return []
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    head = lines[0].split(",") if lines else []
    rows = []
    for line in lines[1:]:
        d = dict(zip(head, line.split(",")))
        rows.append({"epochs": int(d["epoch"]), "train_loss": _num(d, "trainset_TotalLoss"),
                     "valid_loss": _num(d, "validset_TotalLoss"),
                     "valid_energy_rmse_meV_atom": _mev(_num(d, "validset_Energy_RMSE")),
                     "valid_forces_rmse_meV_A": _mev(_num(d, "validset_Force_RMSE"))})
    return rows


def _num(d: dict, key: str) -> float | None:
    try:
        return float(d[key])
    except (KeyError, ValueError):
        return None


def _mev(value):
    return None if value is None else value * EV_TO_MEV


def check_model_file(path: str | Path) -> Path:
    """Refuse a missing or empty checkpoint before starting the environment."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ModelError(f"SevenNet checkpoint {path} is missing or empty; train the model again (`ilforge train`)")
    return path


def _predict_raw(model: str, frames: list[Atoms], threads: int | None, modal: str | None) -> tuple[list[dict], dict]:
    """SevenNet predictions of ``frames`` with ``model`` (a pretrained name or a checkpoint path), and the worker's result."""
    return predict_in_env(ENV, WORKER, {"mode": "predict", "model": model, "threads": threads, "modal": modal}, frames, threads)


def _isolated_deltas(settings: SevennSettings, model: str, elements: list[str], isolated_energies: dict | None,
                     isolated_frames: list[Atoms]) -> dict[str, float] | None:
    """E0_ref[Z] − E_model(isolated Z) (eV) for every element with a reference isolated-atom energy."""
    ref = dict(isolated_energies or {})
    ref.update({a.get_chemical_symbols()[0]: float(a.info[keys.REF_ENERGY]) for a in isolated_frames})
    have = [e for e in elements if e in ref]
    if not have:
        return None
    atoms = [Atoms(e, positions=[[10.0, 10.0, 10.0]], cell=[20.0] * 3, pbc=False) for e in have]
    preds, _ = _predict_raw(model, atoms, settings.threads, settings.modal)
    return {e: ref[e] - p["energy"] for e, p in zip(have, preds)}


def _shift_refit(settings: SevennSettings, model: str, output: str, train: list[Atoms], isolated: list[Atoms],
                 isolated_energies, fit: Path) -> dict:
    """Refit the shifts of ``model`` (a pretrained name or a checkpoint in ``fit``) on ``train`` (see
    :func:`refit_shifts`) and write the checkpoint ``fit/output``."""
    elements = elements_of(train)
    preds, _ = _predict_raw(model, train, settings.threads, settings.modal)
    r = np.array([float(a.info[keys.REF_ENERGY]) - p["energy"] for a, p in zip(train, preds)])
    iso = _isolated_deltas(settings, model, elements, isolated_energies, isolated)
    refit = refit_shifts(count_matrix(train, elements), r, elements, iso) if settings.refit_shifts else \
        {"delta_eV": {e: 0.0 for e in elements}, "skipped": True}
    res = run_in_env(ENV, WORKER, {"mode": "refit", "model": model, "delta_eV": refit["delta_eV"],
                                   "output": output}, fit, threads=settings.threads)
    refit.update({"shift_before_eV": res["shift_before_eV"], "shift_after_eV": res["shift_after_eV"]})
    log.info("SevenNet shift refit on %d frames: energy RMSE %.3g -> %.3g eV/atom", len(train),
             refit.get("rmse_per_atom_before_eV", float("nan")), refit.get("rmse_per_atom_after_eV", float("nan")))
    return refit


def _train(settings: SevennSettings, train, valid, fit: Path, base_checkpoint: str | None, output: str) -> dict:
    """``sevenn train`` on ``train``/``valid`` (fine-tuning from ``fit/base_checkpoint``, or from scratch
    when None); the best checkpoint -> ``fit/output``."""
    import yaml

    with_stress = all(keys.REF_STRESS in a.info and a.pbc.all() for a in train + valid)
    write_frames(fit / TRAIN_FILE, train)
    write_frames(fit / VALID_FILE, valid)
    write_frames(fit / SEVENN_TRAIN_FILE, labels_only(train))
    write_frames(fit / SEVENN_VALID_FILE, labels_only(valid))
    start = f"./{base_checkpoint}" if base_checkpoint else None
    (fit / INPUT_FILE).write_text(yaml.safe_dump(train_input(settings, start, with_stress), sort_keys=False))
    log.info("%s SevenNet (%d epochs) on %d frames in %s",
             f"fine-tuning {settings.foundation_model}" if start else "training from scratch", settings.max_epochs, len(train), fit)
    return run_in_env(ENV, WORKER, {"mode": "train", "input": INPUT_FILE, "model": output}, fit, threads=settings.threads)


def _fit(settings: SevennSettings, train, isolated, valid, isolated_energies, fit: Path) -> tuple[dict | None, dict, dict]:
    """``fit/MODEL_FILE``: the foundation checkpoint (zero-shot), the fine-tuned one after the shift
    refit, or one trained from scratch with its shifts refitted after training; returns (shift refit or
    None, shifts μ_Z after the refit, the training worker's result)."""
    if settings.preset == "zero_shot":
        res = run_in_env(ENV, WORKER, {"mode": "refit", "model": settings.foundation_model, "delta_eV": {},
                                       "output": MODEL_FILE}, fit, threads=settings.threads)
        return None, {}, res
    if settings.preset == "scratch":
        res = _train(settings, train, valid, fit, None, SCRATCH_FILE)
        refit = _shift_refit(settings, str(fit / SCRATCH_FILE), MODEL_FILE, train, isolated, isolated_energies, fit)
        return refit, refit["shift_after_eV"], res
    refit = _shift_refit(settings, settings.foundation_model, BASE_FILE, train, isolated, isolated_energies, fit)
    return refit, refit["shift_after_eV"], _train(settings, train, valid, fit, BASE_FILE, MODEL_FILE)


class SevennBackend(Backend):
    """SevenNet (sevenn 0.13) in the ``sevenn`` environment: zero-shot or fine-tuned foundation model, or from scratch."""

    name = "sevenn"
    settings_class = SevennSettings
    check_model_file = staticmethod(check_model_file)

    def train(self, settings, train_frames: list[Atoms], valid_frames: list[Atoms], model_dir: str | Path,
              isolated_energies: dict[str, float] | None = None) -> ModelArtifact:
        settings = settings if isinstance(settings, SevennSettings) else SevennSettings.model_validate(settings.model_dump())
        model_dir = Path(model_dir).resolve()
        train, valid, isolated, level = split_training_frames(settings, train_frames, valid_frames)
        fit = model_dir / FIT_DIR
        shutil.rmtree(fit, ignore_errors=True)
        fit.mkdir(parents=True)
        t0 = time.perf_counter()
        refit, shifts, res = _fit(settings, train, isolated, valid, isolated_energies, fit)
        t1 = time.perf_counter()
        info = {"name": model_dir.name, "backend": self.name, "model_file": MODEL_FILE, "preset": settings.preset,
                "foundation_model": None if settings.preset == "scratch" else settings.foundation_model,
                "modal": settings.modal,
                "sevenn_version": res.get("sevenn_version"),
                "level_of_theory": level, "elements": elements_of(train + valid),
                "training_data_hash": frames_hash(train), "validation_data_hash": frames_hash(valid),
                "n_train": len(train), "n_valid": len(valid), "n_atoms_train": int(sum(len(a) for a in train)),
                "compositions_train": sorted({str(a.info.get(keys.COMPOSITION_ID, "")) for a in train}),
                "shift_refit": refit, "e0s": {"method": "sevenn shifts", "values_eV": shifts},
                "settings": settings.model_dump(mode="json"),
                "timings_s": {"train": t1 - t0, "per_epoch": (t1 - t0) / settings.max_epochs, "sevenn_train": res.get("train_s")}}
        return finish_fit(self, fit, model_dir, info, valid, read_lc(fit / "lc.csv"), MODEL_FILE)

    def training_frames(self, artifact: ModelArtifact) -> tuple[list[Atoms], list[Atoms]]:
        if not (artifact.directory / TRAIN_FILE).is_file():
            raise NotImplementedError("a zero-shot SevenNet model was fitted on no frames")
        return kept_frames(artifact.directory)

    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Predictions in the environment (energy eV, forces eV/Å, stress eV/Å³ Voigt or None)."""
        settings = artifact.info.get("settings", {})
        preds, _ = _predict_raw(str(artifact.model_file.resolve()), frames, settings.get("threads"), settings.get("modal"))
        return preds

    def load_calculator(self, model: ModelArtifact | str | Path, device: str = "cpu", dtype: str | None = None):
        """The socket calculator (:class:`~ilforge.envs.socket_calc.EnvSocketCalculator`) of a model
        directory, an artifact, a checkpoint file or a pretrained name (``7net-0``)."""
        return socket_factory(model)()


def socket_factory(model: ModelArtifact | str | Path, threads: int | None = None, modal: str | None = None) -> SocketCalculatorFactory:
    """Picklable recipe of a SevenNet socket calculator (its client runs in the ``sevenn`` environment)."""
    if isinstance(model, ModelArtifact) or Path(model).is_dir():
        art = model if isinstance(model, ModelArtifact) else ModelArtifact.load(model)
        settings = art.info.get("settings", {})
        model, threads, modal = str(art.model_file.resolve()), settings.get("threads"), settings.get("modal")
    elif Path(model).suffix == ".pth" and not Path(model).is_file():
        raise IlforgeError(f"SevenNet checkpoint {model} not found; give a model directory trained by ilforge, "
                           "a checkpoint file or a pretrained name such as 7net-0")
    else:
        model = str(Path(model).resolve()) if Path(model).is_file() else str(model)
    return SocketCalculatorFactory.of(ENV, WORKER, {"model": model, "threads": threads, "modal": modal}, threads)

