"""NequIP and Allegro backends (nequip 0.19, nequip-allegro 0.8) in their own environment (``ilforge env create nequip``).

One module, two backends sharing everything but the model section of the training config and the
LAMMPS pair style. A fit (``models/<name>/``, written in ``_fit/`` and moved in when complete)::

    data/train.xyz, data/valid.xyz   extxyz for nequip's ASEDataModule: REF_energy (eV), REF_forces (eV/Å),
                                     REF_stress (eV/Å³, Voigt, ASE sign; only when every training frame has one)
                                     renamed by its key_mapping to total_energy, forces, stress
    cfg.yaml                         the Hydra config ilforge writes (:func:`hydra_config`)
    run/                             nequip-train's output: best.ckpt (lowest validation loss), csv/…/metrics.csv
    model.nequip.zip                 ``nequip-package build run/best.ckpt`` (eager model, kept for exports)
    model.nequip.pt2                 ``nequip-compile --mode aotinductor --device cpu --target ase`` (the model file)
    train.extxyz, valid.extxyz       ilforge's frames (learning curves retrain on them)

Reference energies: ilforge's E0s (:func:`ilforge.models.e0s.resolve_e0s`: isolated atoms, or a fit
that refuses undetermined combinations) are the model's fixed per-type energy shifts,
E = Σ_i [s_Z ε_i + E0[Z_i]], not subtracted from the labels as the DeePMD backend does: both
architectures give ε_i = 0 for an atom without neighbours, so an isolated atom has exactly E0
(checked by the conformance kit), and the compiled model carries the full energy into ASE and
LAMMPS (``pair_nequip``/``pair_allegro`` energies need no offset).

Training, packaging and compiling, batched prediction (the packaged model, eager) and the MD
calculator (an ASE socket client with the compiled model, :mod:`ilforge.envs.socket_calc`) run in the
environment through :mod:`ilforge.envs.workers.nequip_worker`.
"""

from __future__ import annotations

import csv
import logging
import shutil
import tempfile
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
from ilforge.models.e0s import E0s, elements_of, resolve_e0s
from ilforge.models.nequip_settings import AllegroSettings, NequipSettings, _NequipFamilySettings
from ilforge.units import EV_TO_MEV

log = logging.getLogger(__name__)

ENV = "nequip"
WORKER = "nequip_worker"
MODEL_FILE = "model.nequip.pt2"
PACKAGE_FILE = "model.nequip.zip"
CONFIG_FILE = "cfg.yaml"
RUN_DIR = "run"
DATA_DIR = "data"
FIT_DIR = "_fit"
MONITOR = "val0_epoch/weighted_sum"
#: ilforge's label keys -> nequip's (AtomicDataDict) field names
KEY_MAPPING = {keys.REF_ENERGY: "total_energy", keys.REF_FORCES: "forces", keys.REF_STRESS: "stress"}


def nequip_frames(frames: list[Atoms], with_stress: bool) -> list[Atoms]:
    """Copies holding only the structure and ilforge's labels (no other info/arrays nequip might read)."""
    out = []
    for a in frames:
        b = Atoms(numbers=a.numbers, positions=a.positions, cell=a.cell, pbc=a.pbc)
        b.info[keys.REF_ENERGY] = float(a.info[keys.REF_ENERGY])
        b.arrays[keys.REF_FORCES] = np.asarray(a.arrays[keys.REF_FORCES], dtype=float)
        if with_stress:
            b.info[keys.REF_STRESS] = np.asarray(a.info[keys.REF_STRESS], dtype=float)
        out.append(b)
    return out


def nequip_model_section(settings: NequipSettings) -> dict:
    arch = settings.architecture()
    return {"_target_": "nequip.model.NequIPGNNModel", "num_layers": arch["num_layers"], "l_max": arch["l_max"],
            "parity": settings.parity, "num_features": arch["num_features"], "radial_mlp_depth": arch["radial_mlp_depth"],
            "radial_mlp_width": arch["radial_mlp_width"], "num_bessels": settings.num_bessels,
            "polynomial_cutoff_p": settings.polynomial_cutoff_p}


def allegro_model_section(settings: AllegroSettings) -> dict:
    arch = settings.architecture()
    width = arch["mlp_width"]
    return {"_target_": "allegro.model.AllegroModel",
            "radial_chemical_embed": {"_target_": "allegro.nn.TwoBodyBesselScalarEmbed", "num_bessels": settings.num_bessels,
                                      "bessel_trainable": False, "polynomial_cutoff_p": settings.polynomial_cutoff_p},
            "radial_chemical_embed_dim": arch["num_scalar_features"],
            "scalar_embed_mlp_hidden_layers_depth": 1, "scalar_embed_mlp_hidden_layers_width": width,
            "scalar_embed_mlp_nonlinearity": "silu", "l_max": arch["l_max"], "num_layers": arch["num_layers"],
            "num_scalar_features": arch["num_scalar_features"], "num_tensor_features": arch["num_tensor_features"],
            "allegro_mlp_hidden_layers_depth": 1, "allegro_mlp_hidden_layers_width": width, "allegro_mlp_nonlinearity": "silu",
            "parity": settings.parity, "tp_path_channel_coupling": settings.tp_path_channel_coupling,
            "readout_mlp_hidden_layers_depth": 1, "readout_mlp_hidden_layers_width": width, "readout_mlp_nonlinearity": "silu"}


def model_section(settings: _NequipFamilySettings, elements: list[str], e0s: dict[str, float]) -> dict:
    """``training_module.model``: the architecture, float precision, cutoff and the per-type energy
    shifts E0[Z] (eV, fixed) and scales s_Z (the training forces' RMS, eV/Å·Å = eV, fixed)."""
    arch = nequip_model_section(settings) if isinstance(settings, NequipSettings) else allegro_model_section(settings)
    return {**arch, "seed": settings.effective_seed(), "model_dtype": settings.dtype, "type_names": list(elements),
            "r_max": float(settings.architecture()["r_max_A"]),
            "avg_num_neighbors": "${training_data_stats:num_neighbors_mean}",
            "per_type_energy_scales": "${training_data_stats:forces_rms}",
            "per_type_energy_shifts": {el: float(e0s[el]) for el in elements},
            "per_type_energy_scales_trainable": False, "per_type_energy_shifts_trainable": False}


def loss_and_metrics(settings: _NequipFamilySettings, with_stress: bool) -> tuple[dict, dict]:
    """nequip's loss w_E ⟨(ΔE/N)²⟩ + w_F ⟨ΔF²⟩ [+ w_σ ⟨Δσ²⟩] and the validation metrics (RMSEs, same weights)
    whose weighted sum picks the best checkpoint."""
    coeffs = {"total_energy": settings.energy_weight, "forces": settings.forces_weight}
    metric_coeffs = {"per_atom_energy_rmse": settings.energy_weight, "forces_rmse": settings.forces_weight}
    kind = "EnergyForce"
    if with_stress:
        coeffs["stress"] = metric_coeffs["stress_rmse"] = float(settings.stress_weight or 0.0)
        kind = "EnergyForceStress"
    return ({"_target_": f"nequip.train.{kind}Loss", "per_atom_energy": True, "coeffs": coeffs},
            {"_target_": f"nequip.train.{kind}Metrics", "coeffs": metric_coeffs})


def hydra_config(settings: _NequipFamilySettings, elements: list[str], e0s: dict[str, float], fit: Path,
                 with_stress: bool, batch_size: int) -> dict:
    """The ``nequip-train`` config (Hydra): ASEDataModule on ``fit/data/{train,valid}.xyz`` with ilforge's keys
    renamed, a CPU Lightning trainer (``max_epochs``, CSV log, best checkpoint by validation loss) and an
    EMA training module with Adam at ``learning_rate``."""
    seed = settings.effective_seed()
    run = str(fit / RUN_DIR)
    key_mapping = {k: v for k, v in KEY_MAPPING.items() if with_stress or k != keys.REF_STRESS}
    transforms = [{"_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper", "model_type_names": list(elements)},
                  {"_target_": "nequip.data.transforms.NeighborListTransform", "r_max": float(settings.architecture()["r_max_A"])}]
    loader = {"_target_": "torch.utils.data.DataLoader", "batch_size": batch_size, "num_workers": 0}
    data = {"_target_": "nequip.data.datamodule.ASEDataModule", "seed": seed,
            "train_file_path": str(fit / DATA_DIR / "train.xyz"), "val_file_path": str(fit / DATA_DIR / "valid.xyz"),
            "transforms": transforms, "key_mapping": key_mapping,
            "train_dataloader": {**loader, "shuffle": True}, "val_dataloader": loader,
            "stats_manager": {"_target_": "nequip.data.CommonDataStatisticsManager", "type_names": list(elements),
                              "dataloader_kwargs": {"batch_size": batch_size}}}
    trainer = {"_target_": "lightning.Trainer", "accelerator": "cpu", "devices": 1, "max_epochs": settings.max_epochs,
               "check_val_every_n_epoch": 1, "log_every_n_steps": 1, "enable_progress_bar": False,
               "enable_model_summary": False, "deterministic": False,
               "logger": {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": run, "name": "csv", "version": 0},
               "callbacks": [{"_target_": "lightning.pytorch.callbacks.ModelCheckpoint", "monitor": MONITOR, "mode": "min",
                              "dirpath": run, "filename": "best", "save_top_k": 1, "save_last": False}]}
    loss, metrics = loss_and_metrics(settings, with_stress)
    module = {"_target_": "nequip.train.EMALightningModule", "ema_decay": settings.ema_decay, "loss": loss,
              "val_metrics": metrics, "train_metrics": metrics, "optimizer": {"_target_": "torch.optim.Adam", "lr": settings.learning_rate},
              "model": model_section(settings, elements, e0s)}
    return {"run": ["train"], "hydra": {"run": {"dir": run}}, "data": data, "trainer": trainer,
            "training_module": module, "global_options": {"allow_tf32": False}}


def read_metrics_csv(path: str | Path | None) -> list[dict]:
    """Rows of ``training_curve.json`` from Lightning's ``metrics.csv`` (one row per logged step; the epoch's
    train and validation metrics on separate rows): per epoch the weighted sums and the validation RMSEs
    (per-atom energy eV → meV/atom, forces eV/Å → meV/Å)."""
    if path is None or not Path(path).is_file():
        return []
    by_epoch: dict[int, dict] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if not row.get("epoch"):
                continue
            d = by_epoch.setdefault(int(float(row["epoch"])) + 1, {})
            for key, value in row.items():
                if value not in ("", None):
                    d[key] = float(value)
    return [{"epochs": epoch, "train_loss": d.get("train_loss_epoch/weighted_sum"), "valid_loss": d.get(MONITOR),
             "valid_energy_rmse_meV_atom": _mev(d.get("val0_epoch/per_atom_energy_rmse")),
             "valid_forces_rmse_meV_A": _mev(d.get("val0_epoch/forces_rmse"))}
            for epoch, d in sorted(by_epoch.items()) if MONITOR in d]


def _mev(value):
    return None if value is None else value * EV_TO_MEV


def check_model_file(path: str | Path) -> Path:
    """Refuse a missing or empty compiled model (``model.nequip.pt2``) or package before starting the environment."""
    path = Path(path)
    for p in (path, path.parent / PACKAGE_FILE):
        if not p.is_file() or p.stat().st_size == 0:
            raise ModelError(f"NequIP/Allegro model file {p} is missing or empty; train the model again (`ilforge train`)")
    return path


def _prepare_fit(settings: _NequipFamilySettings, train, valid, e0s: E0s, fit: Path) -> tuple[list[str], bool]:
    """Data files, ``cfg.yaml`` and the frames of a fit in ``fit``; (elements, stress in the loss)."""
    import yaml

    elements = elements_of(train + valid)
    missing = [el for el in elements if el not in e0s.values]
    if missing:
        raise IlforgeError(f"no reference energy (E0) for element(s) {missing}: label their isolated atoms or use `e0s: fit`")
    with_stress = all(a.pbc.all() and keys.REF_STRESS in a.info for a in train + valid) and bool(settings.stress_weight)
    write_frames(fit / DATA_DIR / "train.xyz", nequip_frames(train, with_stress))
    write_frames(fit / DATA_DIR / "valid.xyz", nequip_frames(valid, with_stress))
    batch_size = min(settings.batch_size, len(train))
    cfg = hydra_config(settings, elements, e0s.values, fit, with_stress, batch_size)
    (fit / CONFIG_FILE).write_text(yaml.safe_dump(cfg, sort_keys=False))
    write_frames(fit / TRAIN_FILE, train)
    write_frames(fit / VALID_FILE, valid)
    return elements, with_stress


def _lammps_hook(target: str):
    def lammps_files(model, out: Path, elements: list[str]) -> tuple[str, str, list[str], list[str]]:
        """Export hook (:mod:`ilforge.models.export`): the first member's package compiled for ``pair_<style>``
        (``nequip-compile --mode aotinductor --device cpu --target pair_<style>``) into ``out``."""
        member = model.members[0]
        name = f"model.{target}.nequip.pt2"
        task = {"mode": "compile", "package": str(_package(member)), "output": str((out / name).resolve()), "target": f"pair_{target}"}
        with tempfile.TemporaryDirectory(prefix="ilforge-nequip-compile-") as tmp:
            run_in_env(ENV, WORKER, task, tmp, threads=member.info.get("settings", {}).get("threads"))
        notes = [f"needs a LAMMPS built with pair_{target} (github.com/mir-group/pair_nequip_allegro, -DNEQUIP_AOT_COMPILE=ON) "
                 "and the torch of the nequip environment; compiled for the CPU; not run by ilforge",
                 "energies include ilforge's reference energies (the model's per-type shifts)"]
        if target == "nequip":
            notes.append("pair_nequip runs on one MPI rank and needs `newton off` (LAMMPS's default is on): set before read_data")
        else:
            notes.append("pair_allegro needs `newton on` (LAMMPS's default) and runs on several MPI ranks")
        if len(model) > 1:
            notes.append(f"a committee of {len(model)}: only member 0 is exported")
        return target, f"* * {name} " + " ".join(elements), [name], notes

    #: LAMMPS commands the pair style needs before ``pair_style`` (pair_nequip refuses newton pair on)
    lammps_files.pre_pair_commands = ["newton off"] if target == "nequip" else []
    return lammps_files


class _NequipFamilyBackend(Backend):
    """What NequIP and Allegro share: training through ``nequip-train``, prediction, the socket calculator."""

    settings_class: type[_NequipFamilySettings] = NequipSettings
    check_model_file = staticmethod(check_model_file)

    def train(self, settings, train_frames: list[Atoms], valid_frames: list[Atoms], model_dir: str | Path,
              isolated_energies: dict[str, float] | None = None) -> ModelArtifact:
        cls = self.settings_class
        settings = settings if isinstance(settings, cls) else cls.model_validate(settings.model_dump())
        model_dir = Path(model_dir).resolve()
        train, valid, isolated, level = split_training_frames(settings, train_frames, valid_frames)
        settings = settings.with_stress_weight(all(keys.REF_STRESS in a.info for a in train))
        e0s = resolve_e0s(train + isolated, settings.e0s, isolated_energies)
        fit = model_dir / FIT_DIR
        shutil.rmtree(fit, ignore_errors=True)
        fit.mkdir(parents=True)
        t0 = time.perf_counter()
        elements, with_stress = _prepare_fit(settings, train, valid, e0s, fit)
        log.info("training %s (%s preset, %d epochs) on %d frames in %s", self.name, settings.preset, settings.max_epochs, len(train), fit)
        res = run_in_env(ENV, WORKER, {"mode": "train", "config": CONFIG_FILE, "run_dir": RUN_DIR, "package": PACKAGE_FILE,
                                       "compiled": MODEL_FILE}, fit, threads=settings.threads)
        t1 = time.perf_counter()
        info = {"name": model_dir.name, "backend": self.name, "model_file": MODEL_FILE, "package_file": PACKAGE_FILE,
                "nequip_version": res.get("nequip_version"), "allegro_version": res.get("allegro_version"),
                "level_of_theory": level, "elements": elements, "training_data_hash": frames_hash(train),
                "validation_data_hash": frames_hash(valid), "n_train": len(train), "n_valid": len(valid),
                "n_atoms_train": int(sum(len(a) for a in train)), "stress_in_loss": with_stress,
                "compositions_train": sorted({str(a.info.get(keys.COMPOSITION_ID, "")) for a in train}),
                "e0s": e0s.to_json(), "settings": settings.model_dump(mode="json"), "config": CONFIG_FILE,
                "timings_s": {"train": t1 - t0, "per_epoch": res["train_s"] / settings.max_epochs, "nequip_train": res["train_s"],
                              "package": res["package_s"], "compile": res["compile_s"]}}
        return finish_fit(self, fit, model_dir, info, valid, read_metrics_csv(res.get("metrics_csv")), MODEL_FILE)

    def training_frames(self, artifact: ModelArtifact) -> tuple[list[Atoms], list[Atoms]]:
        return kept_frames(artifact.directory)

    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Batched predictions of the packaged model in the environment (energy eV, forces eV/Å, stress eV/Å³)."""
        task = {"mode": "predict", "package": str(_package(artifact)), "batch_size": batch_size}
        return predict_in_env(ENV, WORKER, task, frames, artifact.info.get("settings", {}).get("threads"))[0]

    def load_calculator(self, model: ModelArtifact | str | Path, device: str = "cpu", dtype: str | None = None):
        """The socket calculator (:class:`~ilforge.envs.socket_calc.EnvSocketCalculator`) of a trained model
        (an artifact or its directory) whose client runs the compiled model in the ``nequip`` environment."""
        return socket_factory(model)()


def _package(artifact: ModelArtifact) -> Path:
    return (artifact.directory / artifact.info.get("package_file", PACKAGE_FILE)).resolve()


def socket_factory(model: ModelArtifact | str | Path) -> SocketCalculatorFactory:
    """Picklable recipe of the model's socket calculator (its client runs in the ``nequip`` environment)."""
    if not isinstance(model, ModelArtifact):
        path = Path(model)
        if not path.is_dir():
            raise IlforgeError(f"{path}: give a NequIP/Allegro model directory trained by ilforge (model.json, "
                               f"{MODEL_FILE}, {PACKAGE_FILE}), not a bare model file")
        model = ModelArtifact.load(path)
    task = {"compiled": str(model.model_file.resolve()), "package": str(_package(model))}
    return SocketCalculatorFactory.of(ENV, WORKER, task, model.info.get("settings", {}).get("threads"))


class NequipBackend(_NequipFamilyBackend):
    """NequIP (message-passing, nequip 0.19) in the ``nequip`` environment; LAMMPS through ``pair_nequip``."""

    name = "nequip"
    settings_class = NequipSettings
    lammps_files = staticmethod(_lammps_hook("nequip"))


class AllegroBackend(_NequipFamilyBackend):
    """Allegro (strictly local, nequip-allegro 0.8) in the ``nequip`` environment; LAMMPS through ``pair_allegro``."""

    name = "allegro"
    settings_class = AllegroSettings
    lammps_files = staticmethod(_lammps_hook("allegro"))
