"""apax backend (apax 0.14, JAX on the CPU) in its own environment (``ilforge env create apax``).

ilforge writes the fit's data on the host as extxyz files apax reads through ASE (its labels are the
calculator results): ``data/train.extxyz`` and ``data/valid.extxyz`` with ``energy`` = E − Σ_i E0[Z_i]
(eV) and ``forces`` (eV/Å); no stress (apax 0.14 cannot train it, see
:mod:`ilforge.models.apax_settings`). The E0s are ilforge's (:func:`ilforge.models.e0s.resolve_e0s`:
isolated atoms, or a least-squares fit that refuses undetermined combinations), **subtracted from the
labels** and added back by the worker in every prediction and calculator step; apax's own per-element
shifts then fit only the remainder. An isolated atom gets E0 plus the network's output for an empty
neighbourhood (not exactly E0: apax has no vacuum-energy removal).

The model directory holds ``apax/`` (apax's experiment folder: ``config.yaml``, the ``best/``
checkpoint, ``log.csv``), ``apax_config.yaml`` (the config ilforge wrote; the artifact's model file)
and the kept frames. Training (``apax train``), batched prediction and the MD calculator (an ASE socket
client, :class:`ApaxSocketCalculator`) run in the environment through
:mod:`ilforge.envs.workers.apax_worker`.

A shallow ensemble (``committee_size`` > 1 or ``ensemble_members``) is one model with M readouts: its
predictions and calculator carry ilforge's committee statistics (``energy_std``, ``forces_std``,
``max_force_std``, ``energies``; :func:`ilforge.models.committee.committee_statistics` of the members'
energies and forces). ``native_ensemble`` tells the trainer to fit it once, not as M members.
"""

from __future__ import annotations

import csv
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ilforge import keys
from ilforge.envs.socket_calc import EnvSocketCalculator, SocketCalculatorFactory
from ilforge.envs.subprocess_task import run_in_env
from ilforge.errors import IlforgeError
from ilforge.jsonio import write_extxyz_atomic, write_text_atomic
from ilforge.models.apax_settings import ApaxSettings
from ilforge.models.artifact import ModelArtifact, ModelError, frames_hash
from ilforge.models.base import Backend
from ilforge.models.committee import committee_statistics
from ilforge.models.data import split_training_frames, write_frames
from ilforge.models.e0s import E0s, elements_of, resolve_e0s
from ilforge.models.env_backend import FRAMES_FILE, PREDICTIONS_FILE, TRAIN_FILE, VALID_FILE, finish_fit, kept_frames
from ilforge.units import EV_TO_MEV

log = logging.getLogger(__name__)

ENV = "apax"
WORKER = "apax_worker"
EXPERIMENT = "apax"
MODEL_FILE = "apax_config.yaml"
MEMBERS_FILE = "members.npz"
FIT_DIR = "_fit"
DATA_TRAIN = "data/train.extxyz"
DATA_VALID = "data/valid.extxyz"


def apax_frames(frames: list[Atoms], e0s: dict[str, float]) -> list[Atoms]:
    """Copies of ``frames`` as apax reads them: a calculator with ``energy`` = E − Σ_i E0[Z_i] (eV) and
    ``forces`` (eV/Å), nothing else in ``info``/``arrays``."""
    out = []
    for a in frames:
        b = Atoms(a.numbers, positions=a.positions, cell=a.cell, pbc=a.pbc)
        energy = float(a.info[keys.REF_ENERGY]) - sum(e0s[s] for s in a.get_chemical_symbols())
        b.calc = SinglePointCalculator(b, energy=energy, forces=np.asarray(a.arrays[keys.REF_FORCES], dtype=float))
        out.append(b)
    return out


def _losses(settings: ApaxSettings, n_members: int) -> list[dict]:
    """apax loss terms: energy per atom (``atoms_exponent`` 2 on ΔE²) and forces per component
    (weight w_F/3 on Σ_xyz ΔF² averaged over atoms); a probabilistic loss for an ensemble."""
    kind = settings.ensemble_loss if n_members > 1 else "mse"
    return [{"name": "energy", "loss_type": kind, "weight": settings.energy_weight, "atoms_exponent": 2},
            {"name": "forces", "loss_type": kind, "weight": settings.forces_weight / 3.0, "atoms_exponent": 1}]


def apax_config(settings: ApaxSettings, n_train: int, n_valid: int) -> dict:
    """The ``apax train`` config (GMNN, Bessel basis, linear learning-rate decay, CSV log)."""
    arch = settings.architecture()
    members = settings.n_members()
    precision = "fp64" if settings.dtype == "float64" else "fp32"
    model = {"name": "gmnn", "basis": {"name": "bessel", "n_basis": int(arch["n_basis"]), "r_max": float(arch["r_max_A"])},
             "n_radial": int(arch["n_radial"]), "n_contr": int(arch["n_contr"]), "nn": [int(w) for w in arch["nn"]],
             "calc_stress": False, "descriptor_dtype": precision, "readout_dtype": precision, "scale_shift_dtype": "fp64",
             "w_init": "lecun", "b_init": "zeros",
             "ensemble": {"kind": "shallow", "n_members": members, "force_variance": True} if members > 1 else None}
    lr = settings.learning_rate
    return {
        "n_epochs": int(settings.max_epochs), "seed": settings.effective_seed(), "ckpt_interval": int(settings.max_epochs),
        "data": {"directory": ".", "experiment": EXPERIMENT, "train_data_path": DATA_TRAIN, "val_data_path": DATA_VALID,
                 "batch_size": max(1, min(settings.batch_size, n_train)), "valid_batch_size": max(1, min(n_valid, 32)),
                 "shift_method": "per_element_regression_shift", "shift_options": {"energy_regularisation": 1.0}},
        "model": model,
        "loss": _losses(settings, members),
        "metrics": [{"name": "energy", "reductions": ["per_atom_rmse"]}, {"name": "forces", "reductions": ["rmse"]}],
        "optimizer": {"name": "adam", "emb_lr": lr, "nn_lr": lr, "scale_lr": 1e-4, "shift_lr": 3e-3,
                      "schedule": {"name": "linear", "transition_begin": 0, "end_value": lr / 100}},
        "callbacks": [{"name": "csv"}],
        "progress_bar": {"disable_epoch_pbar": True, "disable_batch_pbar": True},
    }


def read_log_csv(path: Path) -> list[dict]:
    """Rows of ``training_curve.json`` from apax's ``log.csv`` (epoch from 0; energy RMSE per atom in eV,
    forces RMSE in eV/Å, converted to meV)."""
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as fh:
        for d in csv.DictReader(fh):
            rows.append({"epochs": int(float(d["epoch"])) + 1, "train_loss": _num(d.get("train_loss")),
                         "valid_loss": _num(d.get("val_loss")),
                         "valid_energy_rmse_meV_atom": _mev(_num(d.get("val_energy_per_atom_rmse"))),
                         "valid_forces_rmse_meV_A": _mev(_num(d.get("val_forces_rmse")))})
    return rows


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _mev(value):
    return None if value is None else value * EV_TO_MEV


def check_model_file(path: str | Path) -> Path:
    """Refuse a model directory whose config or ``apax/best`` checkpoint is missing."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0 or not (path.parent / EXPERIMENT / "best").is_dir():
        raise ModelError(f"apax model {path.parent} is incomplete ({path.name} or {EXPERIMENT}/best missing); "
                         "train the model again (`ilforge train`)")
    return path


def lammps_files(model, out: Path, elements: list[str]):
    """Export hook: apax has no LAMMPS pair style, so there is nothing to write."""
    raise IlforgeError(f"{model.directory}: apax models cannot be exported to LAMMPS (apax 0.14 has no LAMMPS pair style). "
                       "Run MD with `ilforge md` (the model runs in the apax environment behind a socket calculator), "
                       "or with apax's own JAX-MD (`apax md`, in `ilforge env path apax`) on the model's apax/ folder")


def _prepare_fit(settings: ApaxSettings, train: list[Atoms], valid: list[Atoms], e0s: E0s, fit: Path) -> dict:
    """Data files, ``apax_config.yaml`` and the kept frames of a fit in ``fit``; returns the config."""
    import yaml

    (fit / "data").mkdir(parents=True, exist_ok=True)
    write_extxyz_atomic(fit / DATA_TRAIN, apax_frames(train, e0s.values))
    write_extxyz_atomic(fit / DATA_VALID, apax_frames(valid, e0s.values))
    doc = apax_config(settings, len(train), len(valid))
    write_text_atomic(fit / MODEL_FILE, yaml.safe_dump(doc, sort_keys=False))
    write_frames(fit / TRAIN_FILE, train)
    write_frames(fit / VALID_FILE, valid)
    return doc


def _resolved(settings) -> ApaxSettings:
    settings = settings if isinstance(settings, ApaxSettings) else ApaxSettings.model_validate(settings.model_dump())
    if settings.stress_weight:
        log.warning("apax: stress_weight %g ignored: apax 0.14 cannot train the stress (its training stress is not the "
                    "strain derivative of the energy); the model still predicts the exact stress", settings.stress_weight)
    return settings


def _member_predictions(task: dict, frames: list[Atoms], threads: int | None) -> list[dict]:
    """Batched predictions in the environment, with committee statistics for a shallow ensemble."""
    if not frames:
        return []
    with tempfile.TemporaryDirectory(prefix="ilforge-apax-predict-") as tmp:
        write_frames(Path(tmp) / FRAMES_FILE, frames)
        res = run_in_env(ENV, WORKER, {**task, "frames": FRAMES_FILE}, tmp, threads=threads)
        with np.load(Path(tmp) / PREDICTIONS_FILE) as npz:
            energy, forces, stress, natoms = (npz[k] for k in ("energy", "forces", "stress", "natoms"))
        members = None
        if res.get("members"):
            with np.load(Path(tmp) / res["members"]) as npz:
                members = (npz["member_energy"], npz["member_forces"])
    cuts = np.cumsum(natoms)[:-1]
    preds = [{"energy": float(e), "forces": np.array(f), "stress": None if np.isnan(s).any() else np.array(s)}
             for e, f, s in zip(energy, np.split(forces, cuts), stress)]
    if members is not None:
        for p, e, f in zip(preds, members[0], np.split(members[1], cuts)):
            stats = committee_statistics(e, np.transpose(f, (2, 0, 1)))
            stats.pop("stress")
            p.update(stats)
    return preds


class ApaxBackend(Backend):
    """apax 0.14 (GMNN descriptor + MLP, optional shallow ensemble) in the ``apax`` environment."""

    name = "apax"
    settings_class = ApaxSettings
    native_ensemble = True  #: committee_size > 1 is one shallow-ensemble fit, not separate members
    check_model_file = staticmethod(check_model_file)
    lammps_files = staticmethod(lammps_files)

    def train(self, settings, train_frames: list[Atoms], valid_frames: list[Atoms], model_dir: str | Path,
              isolated_energies: dict[str, float] | None = None) -> ModelArtifact:
        settings = _resolved(settings)
        model_dir = Path(model_dir).resolve()
        train, valid, isolated, level = split_training_frames(settings, train_frames, valid_frames)
        e0s = resolve_e0s(train + isolated, settings.e0s, isolated_energies)
        fit = model_dir / FIT_DIR
        shutil.rmtree(fit, ignore_errors=True)
        fit.mkdir(parents=True)
        t0 = time.perf_counter()
        _prepare_fit(settings, train, valid, e0s, fit)
        log.info("training apax (%s preset, %d epochs, %d members) on %d frames in %s", settings.preset, settings.max_epochs,
                 settings.n_members(), len(train), fit)
        res = run_in_env(ENV, WORKER, {"mode": "train", "config": MODEL_FILE}, fit, threads=settings.threads)
        shutil.rmtree(fit / EXPERIMENT / "latest", ignore_errors=True)  # apax's last-epoch checkpoint; best/ is kept
        t1 = time.perf_counter()
        info = {"name": model_dir.name, "backend": self.name, "model_file": MODEL_FILE, "apax_dir": EXPERIMENT,
                "apax_version": res.get("apax_version"), "level_of_theory": level, "elements": elements_of(train + valid),
                "training_data_hash": frames_hash(train), "validation_data_hash": frames_hash(valid),
                "n_train": len(train), "n_valid": len(valid), "n_atoms_train": int(sum(len(a) for a in train)),
                "compositions_train": sorted({str(a.info.get(keys.COMPOSITION_ID, "")) for a in train}),
                "e0s": e0s.to_json(), "e0s_in_labels": "subtracted", "n_members": settings.n_members(),
                "settings": settings.model_dump(mode="json"), "architecture": settings.architecture(),
                "timings_s": {"train": t1 - t0, "per_epoch": (t1 - t0) / settings.max_epochs, "apax_train": res.get("train_s")}}
        return finish_fit(self, fit, model_dir, info, valid, read_log_csv(fit / EXPERIMENT / "log.csv"), MODEL_FILE)

    def training_frames(self, artifact: ModelArtifact) -> tuple[list[Atoms], list[Atoms]]:
        return kept_frames(artifact.directory)

    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Predictions in the environment (energy eV with the E0s, forces eV/Å, stress eV/Å³); a shallow
        ensemble adds ``energy_std``, ``forces_std``, ``max_force_std`` and ``energies``."""
        return _member_predictions({**_task(artifact), "mode": "predict"}, frames, artifact.info.get("settings", {}).get("threads"))

    def load_calculator(self, model: ModelArtifact | str | Path, device: str = "cpu", dtype: str | None = None):
        """The socket calculator (:class:`ApaxSocketCalculator`) of a trained model (an artifact or its directory)."""
        return socket_factory(model)()


def _task(artifact: ModelArtifact) -> dict:
    return {"model": str((artifact.directory / artifact.info.get("apax_dir", EXPERIMENT)).resolve()),
            "e0s": artifact.info["e0s"]["values_eV"]}


class ApaxSocketCalculator(EnvSocketCalculator):
    """:class:`~ilforge.envs.socket_calc.EnvSocketCalculator` that also reads a shallow ensemble's member
    energies and forces from the i-PI reply's extra bytes (float64: M energies, then n × 3 × M forces)
    and adds their committee statistics (``energy_std`` eV, ``forces_std`` (n, 3) eV/Å, ``max_force_std``
    eV/Å, ``energies`` (M,) eV) to the results."""

    implemented_properties = EnvSocketCalculator.implemented_properties + [keys.ENERGY_STD, keys.FORCES_STD,
                                                                           keys.MAX_FORCE_STD, keys.ENERGIES]

    def calculate(self, atoms=None, properties=("energy",), system_changes=None):
        from ase.calculators.calculator import all_changes

        super().calculate(atoms, properties, all_changes if system_changes is None else system_changes)
        sock = self._clients[next(reversed(self._clients))][0]
        self.results.update(decode_members(sock.results.get("morebytes"), len(self.atoms)))


def decode_members(morebytes, n_atoms: int) -> dict:
    """Committee statistics from the client's extra bytes (see :class:`ApaxSocketCalculator`); {} for a
    single model (one zero byte)."""
    if morebytes is None or len(morebytes) < 16:
        return {}
    values = np.asarray(morebytes, dtype=np.byte).view(np.float64)
    m = len(values) // (1 + 3 * n_atoms)
    if m * (1 + 3 * n_atoms) != len(values):
        raise IlforgeError(f"apax client sent {len(values)} extra values, not M × (1 + 3 × {n_atoms}) member energies and forces")
    stats = committee_statistics(values[:m], np.transpose(values[m:].reshape(n_atoms, 3, m), (2, 0, 1)))
    for k in ("energy", "forces", "stress"):
        stats.pop(k)
    return stats


@dataclass(frozen=True)
class ApaxSocketCalculatorFactory(SocketCalculatorFactory):
    """Picklable recipe of an :class:`ApaxSocketCalculator` (its client runs in the ``apax`` environment)."""

    def __call__(self) -> ApaxSocketCalculator:
        import json

        return ApaxSocketCalculator(self.env, self.worker, json.loads(self.task_json), threads=self.threads)


def socket_factory(model: ModelArtifact | str | Path) -> ApaxSocketCalculatorFactory:
    """Picklable recipe of the model's socket calculator."""
    if not isinstance(model, ModelArtifact):
        path = Path(model)
        if not path.is_dir():
            raise IlforgeError(f"{path}: give an apax model directory trained by ilforge (its model.json holds the E0s)")
        model = ModelArtifact.load(path)
    return ApaxSocketCalculatorFactory.of(ENV, WORKER, _task(model), model.info.get("settings", {}).get("threads"))
