"""SevenNet worker, run by path with the ``sevenn`` environment's Python: ``python sevenn_worker.py DIR``.

Reads ``DIR/task.json`` and writes ``DIR/result.json`` last. Imports only the standard library,
numpy, ASE, torch and sevenn (the environment has no ilforge). ``task["model"]`` is a pretrained
name (``7net-0``, ``7net-l3i5``...; the weights ship in sevenn's wheel, no download) or the path of a
SevenNet checkpoint (``.pth``). Modes (``task["mode"]``):

- ``predict``: ``SevenNetCalculator`` on every frame of ``frames`` (extxyz) -> ``predictions.npz``;
- ``client``: ASE ``SocketClient`` on ``unixsocket`` with the SevenNet calculator;
- ``speed``: seconds per MD step of ``atoms`` with the same calculator in this process (``steps``);
- ``refit``: the checkpoint with per-element energy shifts changed, shift[Z] += ``delta_eV[Z]`` (eV per
  atom of element Z), saved as ``output`` (the fine-tuning start point);
- ``train``: ``sevenn train`` in DIR on sevenn's ``fine_tune`` preset merged with ``input`` (ilforge's
  train/data settings and start checkpoint; the model block from that checkpoint's config), or, when
  ``input`` names no start checkpoint, on its ``base`` preset (from scratch, ilforge's architecture),
  written as ``sevenn_input.yaml``; the best checkpoint (lowest validation loss) copied to ``model``.

SevenNet's energy is E = Σ_i [scale_Z · ε_i + shift_Z] (eV), ε_i the network's output for atom i
(Park et al., J. Chem. Theory Comput. 20, 4857 (2024)). Forces eV/Å; stress eV/Å³ in ASE's sign
and Voigt order (xx, yy, zz, yz, xz, xy), for periodic frames only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from worker_common import main, save_predictions, serve_socket, speed_of  # sibling script (this folder is on sys.path)

SHIFT_KEY = "rescale_atomic_energy.shift"


def _calculator(task: dict):
    import torch
    from sevenn.calculator import SevenNetCalculator

    torch.set_num_threads(int(task.get("threads") or torch.get_num_threads()))
    return SevenNetCalculator(model=str(task["model"]), device="cpu", modal=task.get("modal"))


def _evaluate(calc, atoms) -> tuple:
    a = atoms.copy()
    a.calc = calc
    energy = float(a.get_potential_energy())
    forces = np.array(a.get_forces(), dtype=float)
    stress = np.array(a.get_stress(voigt=True), dtype=float) if a.pbc.all() else None
    return energy, forces, stress


def predict(task: dict, directory: Path) -> dict:
    import ase.io

    frames = list(ase.io.read(directory / task["frames"], index=":"))
    t0 = time.perf_counter()
    calc = _calculator(task)
    t1 = time.perf_counter()
    results = [_evaluate(calc, a) for a in frames]
    t2 = time.perf_counter()
    save_predictions(directory, frames, results)
    return {"predictions": "predictions.npz", "n_frames": len(frames), "load_s": t1 - t0,
            "seconds_per_frame": (t2 - t1) / max(1, len(frames)), "sevenn_version": _version()}


def client(task: dict, directory: Path) -> dict:
    return serve_socket(task, directory, _calculator(task))


def speed(task: dict, directory: Path) -> dict:
    return speed_of(task, directory, _calculator(task))


def refit(task: dict, directory: Path) -> dict:
    """Add ``delta_eV`` (symbol -> eV) to the checkpoint's per-element shifts (refused for a model with
    one shared shift); an empty ``delta_eV`` copies the checkpoint."""
    import torch
    from ase.data import atomic_numbers
    from sevenn.util import load_checkpoint

    raw = torch.load(load_checkpoint(str(task["model"])).checkpoint_path, map_location="cpu", weights_only=False)
    type_map = raw["config"]["_type_map"]  # atomic number -> index of the model's species
    shift = raw["model_state_dict"][SHIFT_KEY].clone()
    if task["delta_eV"] and shift.numel() != len(type_map):
        raise SystemExit(f"{task['model']} has one shift for all elements ({shift.numel()} values for "
                         f"{len(type_map)} species): per-element shifts cannot be refitted")
    before, after = {}, {}
    for symbol, delta in task["delta_eV"].items():
        z = atomic_numbers[symbol]
        if z not in type_map:
            raise SystemExit(f"element {symbol} is not among the {len(type_map)} species of {task['model']}")
        k = type_map[z]
        before[symbol] = float(shift[k])
        shift[k] = shift[k] + float(delta)
        after[symbol] = float(shift[k])
    raw["model_state_dict"][SHIFT_KEY] = shift
    torch.save(raw, directory / task["output"])
    return {"output": task["output"], "shift_before_eV": before, "shift_after_eV": after, "sevenn_version": _version()}


def _plain(value) -> bool:
    try:
        json.dumps(value)
        return True
    except TypeError:
        return False


def _patched(config: dict) -> dict:
    """A checkpoint's config as sevenn's own loader sees it (``patch_old_config``): SevenNet-0 (sevenn
    0.9) stores ``poly_cut_p_value`` with its XPLOR cutoff, which ``XPLORCutoff`` refuses when the model
    block is built from the config as stored."""
    try:
        from sevenn.scripts.backward_compatibility import patch_old_config
    except ImportError:  # another sevenn layout: drop the one key known to break
        if config.get("cutoff_function", {}).get("cutoff_function_name") == "XPLOR":
            config["cutoff_function"] = {k: v for k, v in config["cutoff_function"].items() if k != "poly_cut_p_value"}
        return config
    return patch_old_config(config)


def train_doc(task: dict, directory: Path) -> dict:
    """sevenn's input: with a start checkpoint (``train.continue``), its ``fine_tune`` preset with the model
    block taken from that checkpoint's config (the architecture must match the weights); without, its
    ``base`` preset (from random weights). ilforge's ``model``/``train``/``data`` settings on top."""
    import sevenn
    import torch
    import yaml

    ours = yaml.safe_load((directory / task["input"]).read_text())
    start = ours["train"].get("continue", {}).get("checkpoint")
    preset = "fine_tune" if start else "base"
    doc = yaml.safe_load((Path(sevenn.__file__).parent / "presets" / f"{preset}.yaml").read_text())
    if start:
        config = torch.load(directory / start, map_location="cpu", weights_only=False)["config"]
        config = _patched(dict(config))
        for key in list(doc["model"]):
            if key in config and not key.startswith("train_") and _plain(config[key]):
                doc["model"][key] = config[key]
    doc["model"].update(ours.get("model", {}))
    doc["train"].update(ours["train"])
    doc["data"] = ours["data"]
    return doc


def train(task: dict, directory: Path) -> dict:
    import yaml

    t0 = time.perf_counter()
    (directory / "sevenn_input.yaml").write_text(yaml.safe_dump(train_doc(task, directory), sort_keys=False))
    exe = Path(sys.executable).parent / "sevenn"
    proc = subprocess.run([str(exe), "train", "sevenn_input.yaml", "-w", "."], cwd=directory, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"sevenn train {task['input']} failed with exit status {proc.returncode}")
    best = directory / "checkpoint_best.pth"
    if not best.is_file():
        raise SystemExit(f"sevenn wrote no {best.name} (no validation set?)")
    shutil.copyfile(best, directory / task["model"])
    return {"model": task["model"], "train_s": time.perf_counter() - t0, "sevenn_version": _version()}


def _version() -> str:
    import sevenn

    return str(getattr(sevenn, "__version__", "?"))


MODES = {"predict": predict, "client": client, "refit": refit, "train": train, "speed": speed}


if __name__ == "__main__":
    sys.exit(main(MODES, sys.argv[1:]))
