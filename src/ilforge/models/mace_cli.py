"""mace-torch's command line, driven from ilforge: the settings -> argument mapping, and its trainer run in this process.

:func:`mace_arguments` builds the ``mace_run_train`` argument list from
:class:`~ilforge.models.mace_settings.MaceSettings` in one place (the same list can be given to
``mace_run_train``); :func:`run_mace_train` runs mace-torch 0.3.16's own training loop
(``mace.cli.run_train.run``) in this process. MACE's root-logger handlers are removed afterwards so
that the library stays quiet; its log lives in ``<model dir>/logs``.

Fine-tuning (``settings.foundation_model``) uses MACE's ``--foundation_model`` with a local file:
``naive`` continues training all weights on the new data; ``multihead`` keeps a replay head
trained on the foundation model's own training data (``--pt_train_file``, taken from the
foundation model directory's ``train.extxyz`` when it is an ilforge model).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from ilforge import keys
from ilforge.errors import IlforgeError, require
from ilforge.models.e0s import E0s
from ilforge.models.mace_settings import MaceSettings

log = logging.getLogger(__name__)

TRAIN_FILE = "train.extxyz"
VALID_FILE = "valid.extxyz"
#: stem of the model files mace writes (``<stem>.model``, ``<stem>_stagetwo.model``) and of its logs
MODEL_STEM = "mace"
#: mace's own folders inside the model directory (its metrics log ``<results>/*_train.txt``, logs, checkpoints)
RESULTS_DIR = "mace_results"
LOG_DIR = "logs"
CHECKPOINTS_DIR = "checkpoints"


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
    settings: MaceSettings,
    workdir: Path,
    e0s: E0s,
    train_file: Path,
    valid_file: Path,
    name: str = MODEL_STEM,
) -> list[str]:
    """The ``mace_run_train`` argument list equivalent to ``settings`` (one place for the mapping)."""
    arch = settings.architecture()
    e0_str = "{" + ", ".join(f"{z}: {e!r}" for z, e in e0s.by_atomic_number().items()) + "}"
    stress = settings.stress_weight > 0
    args = [
        "--name", name,
        "--work_dir", str(workdir),
        "--model_dir", str(workdir),
        "--log_dir", str(workdir / LOG_DIR),
        "--checkpoints_dir", str(workdir / CHECKPOINTS_DIR),
        "--results_dir", str(workdir / RESULTS_DIR),
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
    args += _foundation_arguments(settings)
    args += _extra_arguments(settings.extra, _mace_parser())
    return args


def _foundation_arguments(settings: MaceSettings) -> list[str]:
    """Fine-tuning arguments: the foundation model file and, for ``multihead``, the replay data."""
    if not settings.foundation_model:
        return []
    args = ["--foundation_model", str(settings.foundation_model)]
    if settings.finetune == "multihead":
        pt = Path(settings.foundation_model).parent / TRAIN_FILE
        if "pt_train_file" not in settings.extra:
            if not pt.is_file():
                raise IlforgeError(
                    f"multihead fine-tuning needs the foundation model's training data (replay): {pt} not found; "
                    "give it as training.extra.pt_train_file"
                )
            args += ["--pt_train_file", str(pt)]
        return args + ["--multiheads_finetuning", "True"]
    return args + ["--multiheads_finetuning", "False"]


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

    Console output goes to ``log_file`` (default: ``<log_dir>/mace_console.log``).
    """
    run_train = require("mace.cli.run_train", "mace")
    torch = require("torch", "mace")
    args = _mace_parser().parse_args(argv)
    dtype = torch.get_default_dtype()
    log_file = log_file or Path(args.log_dir) / "mace_console.log"
    with _quiet_root_logger(log_file):
        run_train.run(args)
    torch.set_default_dtype(dtype)
