"""MACE backend: ilforge's typed settings -> mace-torch 0.3.16's trainer (``mace.cli.run_train.run``).

ilforge writes the training and validation frames as extxyz (MACE's label keys ``REF_energy``,
``REF_forces``, ``REF_stress``), passes the reference energies E0 explicitly (``--E0s``), builds
the argument list from :class:`~ilforge.models.settings.TrainingSettings` in one function
(:func:`mace_arguments`, so the same list can be given to ``mace_run_train``) and runs MACE's own
training loop in this process. MACE's root-logger handlers are removed afterwards so that the
library stays quiet; its log lives in ``<model dir>/logs``.

Fine-tuning (``settings.foundation_model``) uses MACE's ``--foundation_model`` with a local file:
``naive`` continues training all weights on the new data; ``multihead`` keeps a replay head
trained on the foundation model's own training data (``--pt_train_file``, taken from the
foundation model directory's ``train.extxyz`` when it is an ilforge model).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError, require
from ilforge.models.artifact import ModelArtifact, frames_hash
from ilforge.models.base import Backend, TrainingDataError, check_labelled, level_of_theory
from ilforge.models.e0s import E0s, is_isolated_atom, resolve_e0s
from ilforge.models.settings import TrainingSettings

log = logging.getLogger(__name__)

TRAIN_FILE = "train.extxyz"
VALID_FILE = "valid.extxyz"
MODEL_NAME = "mace"


def _mace_parser() -> argparse.ArgumentParser:
    tools = require("mace.tools", "mace")
    return tools.build_default_arg_parser()


def _extra_arguments(extra: dict, parser: argparse.ArgumentParser) -> list[str]:
    """``extra`` (MACE option name -> value) as command-line tokens; unknown names are an error."""
    out: list[str] = []
    for key, value in extra.items():
        opt = f"--{key}"
        action = parser._option_string_actions.get(opt)  # noqa: SLF001 - argparse has no public lookup
        if action is None:
            raise IlforgeError(f"training.extra: {key!r} is not a mace-torch 0.3.16 option (see `mace_run_train --help`)")
        if isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001
            if value:
                out.append(opt)
        else:
            out += [opt, str(value)]
    return out


def mace_arguments(
    settings: TrainingSettings,
    workdir: Path,
    e0s: E0s,
    train_file: Path,
    valid_file: Path,
    name: str = MODEL_NAME,
) -> list[str]:
    """The ``mace_run_train`` argument list equivalent to ``settings`` (one place for the mapping)."""
    arch = settings.architecture()
    e0_str = "{" + ", ".join(f"{z}: {e!r}" for z, e in e0s.by_atomic_number().items()) + "}"
    stress = settings.stress_weight > 0
    args = [
        "--name", name,
        "--work_dir", str(workdir),
        "--model_dir", str(workdir),
        "--log_dir", str(workdir / "logs"),
        "--checkpoints_dir", str(workdir / "checkpoints"),
        "--results_dir", str(workdir / "results"),
        "--train_file", str(train_file),
        "--valid_file", str(valid_file),
        "--energy_key", keys.REF_ENERGY,
        "--forces_key", keys.REF_FORCES,
        "--stress_key", keys.REF_STRESS,
        "--E0s", e0_str,
        "--model", "MACE",
        "--num_channels", str(arch["num_channels"]),
        "--max_L", str(arch["max_L"]),
        "--max_ell", str(arch["max_ell"]),
        "--correlation", str(arch["correlation"]),
        "--num_interactions", str(arch["num_interactions"]),
        "--r_max", str(arch["r_max_A"]),
        "--radial_MLP", str(list(arch["radial_mlp"])),
        "--batch_size", str(settings.batch_size),
        "--valid_batch_size", str(settings.batch_size),
        "--max_num_epochs", str(settings.max_epochs),
        "--lr", str(settings.learning_rate),
        "--energy_weight", str(settings.energy_weight),
        "--forces_weight", str(settings.forces_weight),
        "--stress_weight", str(settings.stress_weight),
        "--loss", "stress" if stress else "weighted",
        "--error_table", "PerAtomRMSEstressvirials" if stress else "PerAtomRMSE",
        "--compute_stress", str(stress),
        "--default_dtype", settings.dtype,
        "--device", settings.device,
        "--seed", str(settings.effective_seed()),
        "--plot", "False",
        "--pin_memory", "False",
        "--save_cpu",
    ]
    if settings.foundation_model:
        args += ["--foundation_model", str(settings.foundation_model)]
        if settings.finetune == "multihead":
            pt = Path(settings.foundation_model).parent / TRAIN_FILE
            if "pt_train_file" not in settings.extra:
                if not pt.is_file():
                    raise IlforgeError(
                        f"multihead fine-tuning needs the foundation model's training data (replay): {pt} not found; "
                        "give it as training.extra.pt_train_file"
                    )
                args += ["--pt_train_file", str(pt)]
            args += ["--multiheads_finetuning", "True"]
        else:
            args += ["--multiheads_finetuning", "False"]
    args += _extra_arguments(settings.extra, _mace_parser())
    return args


@contextlib.contextmanager
def _quiet_root_logger(log_file: Path):
    """Keep mace's console logging off the terminal: its stdout and stderr (TorchScript and e3nn
    warnings while the model is compiled) go to ``log_file``.

    mace's ``setup_logger`` adds handlers (stdout, files) and a filter to the root logger and sets
    its level to DEBUG; the root logger's own handlers are detached while mace runs and everything
    is restored afterwards.
    """
    root = logging.getLogger()
    handlers, filters, level = list(root.handlers), list(root.filters), root.level
    for h in handlers:
        root.removeHandler(h)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_file, "a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            yield
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in handlers:
            root.addHandler(h)
        root.filters[:] = filters
        root.setLevel(level)


def run_mace_train(argv: list[str], log_file: Path | None = None) -> None:
    """Run mace-torch's trainer in this process on ``argv`` (as ``mace_run_train`` would).

    Console output goes to ``log_file`` (default: ``<work_dir>/logs/mace_console.log``).
    """
    run_train = require("mace.cli.run_train", "mace")
    torch = require("torch", "mace")
    args = _mace_parser().parse_args(argv)
    dtype = torch.get_default_dtype()
    log_file = log_file or Path(args.work_dir) / "logs" / "mace_console.log"
    with _quiet_root_logger(log_file):
        run_train.run(args)
    torch.set_default_dtype(dtype)


def write_frames(path: Path, frames: list[Atoms]) -> None:
    """extxyz with labels only in info/arrays (no calculator results, which MACE would not read)."""
    import ase.io

    clean = []
    for a in frames:
        b = a.copy()
        b.calc = None
        clean.append(b)
    ase.io.write(path, clean, format="extxyz")


def split_valid(frames: list[Atoms], fraction: float, seed: int) -> tuple[list[Atoms], list[Atoms]]:
    """Random split of ``frames`` into (train, valid) with at least one frame in each."""
    if len(frames) < 2:
        raise TrainingDataError(f"need at least 2 labelled frames to train (one for validation), got {len(frames)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frames))
    n_valid = min(len(frames) - 1, max(1, int(round(fraction * len(frames)))))
    return [frames[i] for i in order[n_valid:]], [frames[i] for i in order[:n_valid]]


def _model_elements(model_file: Path) -> list[str]:
    """Element symbols a MACE model has parameters for (its atomic-number table)."""
    from ase.data import chemical_symbols

    torch = require("torch", "mace")
    model = torch.load(f=str(model_file), map_location="cpu", weights_only=False)
    return [chemical_symbols[int(z)] for z in model.atomic_numbers]


class MaceBackend(Backend):
    name = "mace"

    def train(
        self,
        settings: TrainingSettings,
        train_frames: list[Atoms],
        valid_frames: list[Atoms],
        workdir: str | Path,
        isolated_energies: dict[str, float] | None = None,
    ) -> ModelArtifact:
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        isolated_frames = [a for a in train_frames if is_isolated_atom(a)]
        train = [a for a in train_frames if not is_isolated_atom(a)]
        valid = [a for a in valid_frames if not is_isolated_atom(a)]
        check_labelled(train, "training frames")
        level = level_of_theory(train + valid + isolated_frames, "training and validation frames")
        if not valid:
            train, valid = split_valid(train, settings.valid_fraction or 0.1, settings.effective_seed())
        check_labelled(valid, "validation frames")
        if settings.batch_size > len(train):  # mace drops incomplete training batches: keep at least one
            log.warning("batch_size %d > %d training frames: using batch_size %d", settings.batch_size, len(train), len(train))
            settings = settings.model_copy(update={"batch_size": len(train)})
        e0s = resolve_e0s(train + isolated_frames, settings.e0s, isolated_energies)
        t0 = time.perf_counter()
        # a fresh fit: mace would otherwise resume from (and finally load) stale checkpoints of an earlier run
        shutil.rmtree(workdir / "checkpoints", ignore_errors=True)
        for stale in workdir.glob(f"{MODEL_NAME}*.model"):
            stale.unlink()
        write_frames(workdir / TRAIN_FILE, train)
        write_frames(workdir / VALID_FILE, valid)
        argv = mace_arguments(settings, workdir, e0s, workdir / TRAIN_FILE, workdir / VALID_FILE)
        t1 = time.perf_counter()
        log.info("training MACE (%s preset) on %d frames, validating on %d, in %s", settings.preset, len(train), len(valid), workdir)
        run_mace_train(argv)
        t2 = time.perf_counter()
        model_file = workdir / f"{MODEL_NAME}.model"
        if "swa" in settings.extra and settings.extra["swa"] and (workdir / f"{MODEL_NAME}_stagetwo.model").is_file():
            model_file = workdir / f"{MODEL_NAME}_stagetwo.model"
        if not model_file.is_file():
            raise IlforgeError(f"MACE training finished without writing {model_file}; see {workdir / 'logs'}")
        info = {
            "name": workdir.name,
            "backend": self.name,
            "model_file": model_file.name,
            "mace_version": require("mace", "mace").__version__,
            "level_of_theory": level,
            "elements": _model_elements(model_file),  # the training data's, plus a foundation model's
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
        artifact = ModelArtifact(workdir, info)
        from ilforge.validate.metrics import compute_metrics

        t3 = time.perf_counter()
        preds = self.predict(artifact, valid, device=settings.device)
        info["metrics_valid"] = compute_metrics(valid, preds)["overall"]
        info["timings_s"]["metrics"] = time.perf_counter() - t3
        artifact.save()
        return artifact

    def calculator(self, artifact: ModelArtifact, device: str = "cpu"):
        calcs = require("mace.calculators", "mace")
        dtype = artifact.info.get("settings", {}).get("dtype", "float64")
        return calcs.MACECalculator(model_paths=str(artifact.model_file), device=device, default_dtype=dtype)

    def predict(self, artifact: ModelArtifact, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Batched evaluation as ``mace_eval_configs`` does it (same data path, same model file)."""
        torch = require("torch", "mace")
        mace_data = require("mace.data", "mace")
        from mace.tools import torch_geometric, torch_tools, utils

        if not frames:
            return []
        dtype = artifact.info.get("settings", {}).get("dtype", "float64")
        old_dtype = torch.get_default_dtype()
        torch_tools.set_default_dtype(dtype)
        try:
            model = torch.load(f=str(artifact.model_file), map_location=device, weights_only=False)
            model = model.to(device)
            for p in model.parameters():
                p.requires_grad = False
            heads = getattr(model, "heads", None)
            head = "Default" if heads is None or "Default" in heads else heads[-1]
            z_table = utils.AtomicNumberTable([int(z) for z in model.atomic_numbers])
            stress = all(a.pbc.all() and a.get_volume() > 0 for a in frames)
            dataset = [
                mace_data.AtomicData.from_config(
                    mace_data.config_from_atoms(a, head_name=head), z_table=z_table, cutoff=float(model.r_max), heads=heads
                )
                for a in frames
            ]
            loader = torch_geometric.dataloader.DataLoader(dataset=dataset, batch_size=batch_size, shuffle=False, drop_last=False)
            out: list[dict] = []
            for batch in loader:
                batch = batch.to(device)
                res = model(batch.to_dict(), compute_stress=stress)
                energies = torch_tools.to_numpy(res["energy"])
                forces = np.split(torch_tools.to_numpy(res["forces"]), batch.ptr[1:].cpu().numpy(), axis=0)[:-1]
                stresses = torch_tools.to_numpy(res["stress"]) if stress else [None] * len(energies)
                for e, f, s in zip(energies, forces, stresses):
                    voigt = None
                    if s is not None:
                        voigt = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
                    out.append({"energy": float(e), "forces": np.array(f, dtype=float), "stress": voigt})
            return out
        finally:
            torch.set_default_dtype(old_dtype)
