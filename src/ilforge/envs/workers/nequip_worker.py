"""NequIP/Allegro worker, run by path with the ``nequip`` environment's Python: ``python nequip_worker.py DIR``.

Reads ``DIR/task.json`` and writes ``DIR/result.json`` last. Imports only the standard library,
numpy, ASE, torch and the NequIP framework (nequip, nequip-allegro); the environment has no ilforge.
Modes (``task["mode"]``):

- ``train``: ``nequip-train -cp DIR -cn <config>`` (Hydra; the run folder is the config's
  ``hydra.run.dir``), then ``nequip-package build <best.ckpt> <package>`` and
  ``nequip-compile <package> <compiled> --mode aotinductor --device cpu --target ase``;
- ``compile``: ``nequip-compile <package> <output> --mode aotinductor --device cpu --target <target>``
  (``pair_nequip``/``pair_allegro`` for LAMMPS);
- ``predict``: the packaged model (eager) on ``frames`` (extxyz) in batches of frames with the same
  periodicity -> ``predictions.npz``;
- ``client``: ASE ``SocketClient`` on ``unixsocket`` with the compiled model as the calculator;
- ``speed``: ``steps`` velocity-Verlet steps (1 fs) of ``atoms`` with the compiled model in this
  process -> seconds per step (the native path the socket calculator is compared with).

Units: the models are trained in eV and Å, so energies are eV, forces eV/Å and the stress σ eV/Å³
(σ = (1/V) ∂E/∂ε, ASE sign, Voigt xx, yy, zz, yz, xz, xy). The reference energies E0 are inside the
model (its per-type energy shifts): nothing is added here. The compiled (AOTInductor) model is
exported for at least 2 atoms and 2 edges (``nequip-compile``'s default shape range); a structure
with fewer (an isolated atom) is evaluated by the packaged model instead.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from worker_common import main, save_predictions, serve_socket, speed_of  # sibling script (this folder is on sys.path)


def _tool(name: str, args: list[str], directory: Path) -> float:
    """Run a NequIP console script of this environment in ``directory``; returns its wall time (s)."""
    exe = Path(sys.executable).parent / name
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), *args], cwd=directory, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed with exit status {proc.returncode}")
    return time.perf_counter() - t0


def _compile(package: str, output: str, target: str, directory: Path) -> float:
    return _tool("nequip-compile", [package, output, "--mode", "aotinductor", "--device", "cpu", "--target", target], directory)


def train(task: dict, directory: Path) -> dict:
    run_dir = directory / task["run_dir"]
    train_s = _tool("nequip-train", ["-cp", str(directory), "-cn", task["config"]], directory)
    ckpts = sorted(run_dir.glob("best*.ckpt")) or sorted(run_dir.glob("last*.ckpt"))
    if not ckpts:
        raise SystemExit(f"nequip-train wrote no checkpoint in {run_dir}")
    package_s = _tool("nequip-package", ["build", str(ckpts[0]), task["package"]], directory)
    compile_s = _compile(task["package"], task["compiled"], "ase", directory)
    metrics = sorted(run_dir.rglob("metrics.csv"))
    import nequip

    return {"package": task["package"], "compiled": task["compiled"], "checkpoint": str(ckpts[0]),
            "metrics_csv": str(metrics[0]) if metrics else None, "train_s": train_s, "package_s": package_s,
            "compile_s": compile_s, "nequip_version": nequip.__version__, "allegro_version": _allegro_version()}


def _allegro_version() -> str | None:
    try:
        import allegro

        return allegro.__version__
    except ImportError:
        return None


def compile_model(task: dict, directory: Path) -> dict:
    return {"output": task["output"], "compile_s": _compile(task["package"], task["output"], task["target"], directory)}


class Evaluator:
    """The packaged model (eager, batched) and, when given, the compiled one (one structure at a time)."""

    def __init__(self, package: str, compiled: str | None = None):
        from nequip.integrations.ase import NequIPCalculator

        # the models' type names are ilforge's element symbols: the identity map
        self.eager = NequIPCalculator._from_saved_model(package, device="cpu", chemical_species_to_atom_type_map=True)
        self.compiled = (NequIPCalculator.from_compiled_model(compiled, device="cpu", chemical_species_to_atom_type_map=True)
                         if compiled else None)
        self.r_max = max(float(getattr(t, "r_max", 0.0)) for t in self.eager.transforms) or None

    def small(self, atoms) -> bool:
        """Fewer than 2 atoms or 2 edges within r_max: outside the compiled model's shape range."""
        from ase.neighborlist import neighbor_list

        return len(atoms) < 2 or (self.r_max is not None and len(neighbor_list("i", atoms, self.r_max)) < 2)

    def batch(self, frames: list) -> list[tuple]:
        """(energy eV, forces (n, 3) eV/Å, stress (6,) eV/Å³ or None) of frames with one periodicity, in one call."""
        from ase.stress import full_3x3_to_voigt_6_stress
        from nequip.data import AtomicDataDict

        data = AtomicDataDict.batched_from_list([self.eager.atoms_to_data(a) for a in frames])
        out = self.eager.call_model(data)
        energy = out[AtomicDataDict.TOTAL_ENERGY_KEY].detach().cpu().numpy().reshape(-1)
        forces = out[AtomicDataDict.FORCE_KEY].detach().cpu().numpy()
        stress = out[AtomicDataDict.STRESS_KEY].detach().cpu().numpy().reshape(-1, 3, 3) if AtomicDataDict.STRESS_KEY in out else None
        splits = np.split(forces, np.cumsum([len(a) for a in frames])[:-1])
        return [(float(energy[k]), splits[k].reshape(-1, 3),
                 full_3x3_to_voigt_6_stress(stress[k]) if stress is not None and a.pbc.all() else None)
                for k, a in enumerate(frames)]

    def single(self, atoms) -> dict:
        """ASE results of one structure: the compiled model, or the packaged one for small structures."""
        calc = self.eager if (self.compiled is None or self.small(atoms)) else self.compiled
        calc.calculate(atoms, ["energy", "forces", "stress"])
        res = {"energy": float(calc.results["energy"]), "forces": np.array(calc.results["forces"])}
        if atoms.pbc.all() and "stress" in calc.results:
            res["stress"] = np.array(calc.results["stress"])
        return res


def _groups(frames: list, batch_size: int):
    """Indices of frames with the same periodicity, in chunks of at most ``batch_size``."""
    by_key: dict = {}
    for i, a in enumerate(frames):
        by_key.setdefault(tuple(bool(p) for p in a.pbc), []).append(i)
    for idx in by_key.values():
        for s in range(0, len(idx), batch_size):
            yield idx[s:s + batch_size]


def predict(task: dict, directory: Path) -> dict:
    import ase.io

    frames = list(ase.io.read(directory / task["frames"], index=":"))
    ev = Evaluator(task["package"])
    results: list = [None] * len(frames)
    for idx in _groups(frames, int(task.get("batch_size", 16))):
        for i, r in zip(idx, ev.batch([frames[i] for i in idx])):
            results[i] = r
    save_predictions(directory, frames, results)
    return {"predictions": "predictions.npz", "n_frames": len(frames)}


def _calculator(ev: Evaluator):
    from ase.calculators.calculator import Calculator, all_changes

    class NequipModelCalculator(Calculator):
        implemented_properties = ["energy", "free_energy", "forces", "stress"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            res = ev.single(self.atoms)
            self.results = {"free_energy": res["energy"], **res}

    return NequipModelCalculator()


def client(task: dict, directory: Path) -> dict:
    return serve_socket(task, directory, _calculator(Evaluator(task["package"], task["compiled"])))


def speed(task: dict, directory: Path) -> dict:
    return speed_of(task, directory, _calculator(Evaluator(task["package"], task["compiled"])))


MODES = {"train": train, "compile": compile_model, "predict": predict, "client": client, "speed": speed}


if __name__ == "__main__":
    sys.exit(main(MODES, sys.argv[1:]))
