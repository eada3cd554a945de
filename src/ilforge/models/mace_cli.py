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
import importlib
import json
import logging
import os
from pathlib import Path

from ilforge import keys, units
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


#: set by ``import mace`` (and mace.calculators) for the whole process: every later ``torch.load`` would
#: unpickle arbitrary objects. ilforge undoes it after each import and sets it only while mace trains.
TORCH_UNSAFE_LOAD_ENV = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


@contextlib.contextmanager
def torch_load_env(value: str | None = None):
    """Within the block ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is ``value`` (None: whatever the block sets);
    afterwards it is restored to what it was before (unset stays unset)."""
    previous = os.environ.get(TORCH_UNSAFE_LOAD_ENV)
    if value is not None:
        os.environ[TORCH_UNSAFE_LOAD_ENV] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(TORCH_UNSAFE_LOAD_ENV, None)
        else:
            os.environ[TORCH_UNSAFE_LOAD_ENV] = previous


def mace_module(name: str):
    """Import a mace module (a clear error naming the extra when mace is missing) without leaving
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` set: other ``torch.load`` calls keep torch's safe default."""
    with torch_load_env():
        require("mace", "mace")
        return importlib.import_module(name)


def _mace_parser() -> argparse.ArgumentParser:
    tools = mace_module("mace.tools")
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
    stress = (settings.stress_weight or 0.0) > 0
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
        "--stress_weight", str(settings.stress_weight or 0.0),
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

    Console output goes to ``log_file`` (default: ``<log_dir>/mace_console.log``). While mace trains,
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (mace reloads its own checkpoints and the foundation model
    as whole pickled objects: a foundation model file is code, use only files you trust); it is
    restored afterwards.
    """
    run_train = mace_module("mace.cli.run_train")
    torch = require("torch", "mace")
    args = _mace_parser().parse_args(argv)
    dtype = torch.get_default_dtype()
    log_file = log_file or Path(args.log_dir) / "mace_console.log"
    try:
        with torch_load_env("1"), _quiet_root_logger(log_file):
            run_train.run(args)
    finally:
        torch.set_default_dtype(dtype)


def epoch_log(model_dir: str | Path, since: float | None = None) -> "EpochLog":
    """The backend hook ``MaceBackend.epoch_log``: the metrics log of the fit of ``model_dir`` in progress."""
    return EpochLog(fit_results_dir(model_dir), since=since)


def fit_results_dir(model_dir: str | Path) -> Path:
    """Where mace writes its metrics log while a model of ``model_dir`` trains: the backend's fit folder
    (:data:`ilforge.models.mace_backend.FIT_DIR`) / :data:`RESULTS_DIR`."""
    from ilforge.models.mace_backend import FIT_DIR

    return Path(model_dir) / FIT_DIR / RESULTS_DIR


def parse_epoch_line(line: str) -> dict | None:
    """One line of mace's metrics log ``<results>/<name>_run-<seed>_train.txt`` (JSON, appended by
    ``mace.tools.train.valid_err_log`` after each evaluation) as progress, or None for any other line
    (training-batch ``"mode": "opt"`` lines, the initial evaluation with ``"epoch": null``, a partial line).

    mace counts epochs from 0, so the evaluation of epoch ``e`` means ``e + 1`` epochs done. Errors on
    the validation frames are converted eV -> meV: ``E_rmse_meV_atom`` (energy RMSE per atom) and
    ``F_rmse_meV_A`` (force-component RMSE, meV/Å); ``head`` is the validation head (``Default``).
    """
    try:
        d = json.loads(line)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(d, dict) or d.get("mode") != "eval" or d.get("epoch") is None:
        return None
    out = {"epochs_done": int(d["epoch"]) + 1, "head": str(d.get("head", "Default"))}
    for src, dst in (("rmse_e_per_atom", "E_rmse_meV_atom"), ("rmse_f", "F_rmse_meV_A")):
        if isinstance(d.get(src), (int, float)):
            out[dst] = float(d[src]) * units.EV_TO_MEV
    return out


class EpochLog:
    """Follows mace's metrics log (``*_train.txt`` in ``results_dir``) while mace appends to it: each
    :meth:`poll` reads only the complete lines added since the last one and returns the latest epoch
    (:func:`parse_epoch_line`; the ``Default`` head preferred over a fine-tuning replay head), or None
    before the first evaluation. Files not modified since ``since`` (unix time; a killed earlier fit's
    log, removed when the new fit starts) are ignored."""

    def __init__(self, results_dir: str | Path, since: float | None = None):
        self.results_dir, self.since = Path(results_dir), since
        self._pos: dict[Path, tuple[int, int]] = {}  # file -> (inode, bytes read)
        self.latest: dict | None = None

    def poll(self) -> dict | None:
        for path in sorted(self.results_dir.glob("*_train.txt")):
            try:
                st = path.stat()
                if self.since is not None and st.st_mtime < self.since:
                    continue
                inode, pos = self._pos.get(path, (st.st_ino, 0))
                if inode != st.st_ino or st.st_size < pos:
                    pos, self.latest = 0, None  # the file was replaced (a new fit): start again
                with open(path, "rb") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
            except OSError:
                continue
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._pos[path] = (st.st_ino, pos + len(complete))
            for line in complete.decode("utf-8", "replace").splitlines():
                doc = parse_epoch_line(line)
                if doc is not None and (doc["head"] == "Default" or self.latest is None
                                        or self.latest["head"] != "Default"):
                    self.latest = doc
        return self.latest
