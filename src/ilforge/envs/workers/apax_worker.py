"""apax worker, run by path with the ``apax`` environment's Python: ``python apax_worker.py DIR``.

Reads ``DIR/task.json`` and writes ``DIR/result.json`` last. Imports only the standard library,
numpy, ASE and apax/JAX/vesin (the environment has no ilforge). Modes (``task["mode"]``):

- ``train``: ``apax train <config>`` in DIR (the config ilforge wrote);
- ``predict``: batched evaluation of ``frames`` (extxyz) -> ``predictions.npz`` (worker_common layout)
  plus, for a shallow ensemble, ``member_energy`` (F, M) eV and ``member_forces`` (Σn, 3, M) eV/Å;
- ``client``: ASE ``SocketClient`` on ``unixsocket``; a shallow ensemble's member energies and forces
  travel in the i-PI reply's extra bytes (float64: M energies, then n × 3 × M forces).

Evaluation (:class:`Evaluator`) uses apax's energy model directly, not its ASE calculator: energies
of the M members E_k(r, ε) with the cell and the periodic image offsets both strained by (1 + ε),
forces F_k = −∂E_k/∂r (jacobian), stress σ = (1/V) ∂Ē/∂ε at ε = 0 of the mean energy (eV/Å³, ASE
sign, symmetrised, Voigt xx yy zz yz xz xy). apax 0.14's own stress strains the pair vectors but not
the image offsets (and doubles them with its perturbation), so it is wrong whenever a neighbour pair
crosses the cell boundary; this derivative is exact. Energies: the model was trained on
E − Σ_i E0[Z_i] (``task["e0s"]``: symbol -> eV), so E = E_model + Σ_i E0[Z_i].
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from worker_common import main, save_predictions  # sibling script (this folder is on sys.path)

MEMBERS_FILE = "members.npz"


def limit_threads() -> None:
    """XLA ignores OMP_NUM_THREADS: with ``OMP_NUM_THREADS=1`` (ilforge's ``threads: 1``) also turn off
    its multi-threaded Eigen and intra-op pool, before JAX is imported (also for ``apax train``)."""
    if os.environ.get("OMP_NUM_THREADS") == "1":
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()


def train(task: dict, directory: Path) -> dict:
    apax = Path(sys.executable).parent / "apax"
    t0 = time.perf_counter()
    proc = subprocess.run([str(apax), "train", task["config"]], cwd=directory, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"apax train {task['config']} failed with exit status {proc.returncode}")
    import apax

    return {"train_s": time.perf_counter() - t0, "apax_version": getattr(apax, "__version__", None)}


class Evaluator:
    """A trained apax model (its experiment folder) and the E0s; see the module docstring."""

    def __init__(self, model_dir: str, e0s: dict):
        from apax.train.checkpoints import canonicalize_energy_model_parameters, restore_parameters

        config, params = restore_parameters(model_dir)
        self.params = canonicalize_energy_model_parameters(params)
        self.config = config
        self.r_max = float(config.model.basis.r_max)
        self.e0s = {k: float(v) for k, v in e0s.items()}
        self._fns: dict = {}
        self._padded: dict = {}

    def _function(self, periodic: bool):
        """Jitted (R, Z, idx, box, offsets) -> (member energies (M,), member forces (M, n, 3), dĒ/dε (3, 3))."""
        if periodic in self._fns:
            return self._fns[periodic]
        import jax
        import jax.numpy as jnp

        builder = self.config.model.get_builder()(self.config.model.model_dump(), n_species=119)
        model = builder.build_energy_model(apply_mask=True, init_box=np.eye(3) if periodic else np.zeros(3))
        params = self.params

        def energies(R, Z, idx, box, offsets, eps):
            strain = jnp.eye(3) + eps
            if periodic:  # R fractional (apax's transform has a custom JVP: ∂/∂R is the Cartesian gradient)
                e, _ = model.apply(params, R, Z, idx, strain @ box, offsets @ strain.T)
            else:
                e, _ = model.apply(params, R @ strain.T, Z, idx, box, offsets)
            return jnp.atleast_1d(e)

        def evaluate(R, Z, idx, box, offsets):
            eps = jnp.zeros((3, 3))
            e = energies(R, Z, idx, box, offsets, eps)
            forces = -jax.jacrev(energies, argnums=0)(R, Z, idx, box, offsets, eps)
            dedeps = jax.grad(lambda x: energies(R, Z, idx, box, offsets, x).mean())(eps)
            return e, forces, dedeps

        self._fns[periodic] = jax.jit(evaluate)
        return self._fns[periodic]

    def _neighbours(self, atoms, periodic: bool):
        """Full neighbour list (i, j) and Cartesian image offsets S·cell, padded with (0, 0) pairs
        (masked by apax) to a length that grows by 20 % steps so a trajectory rarely recompiles."""
        from vesin import NeighborList

        nl = NeighborList(cutoff=self.r_max, full_list=True)
        box = np.asarray(atoms.cell.array) if periodic else np.eye(3) * (np.ptp(atoms.positions, axis=0).max() + 2 * self.r_max + 1)
        i, j, s = nl.compute(points=atoms.positions, box=box, periodic=periodic, quantities="ijS")
        key = (tuple(atoms.numbers), periodic)
        size = self._padded.get(key, 0)
        if len(i) > size or size == 0:
            size = max(1, int(len(i) * 1.2) + 1)
            self._padded[key] = size
        pad = size - len(i)
        idx = np.pad(np.array([i, j], dtype=np.int32), ((0, 0), (0, pad)))
        offsets = np.pad(np.asarray(s, dtype=float) @ np.asarray(atoms.cell.array), ((0, pad), (0, 0))) if periodic \
            else np.zeros((size, 3))
        return idx, offsets

    def members(self, atoms):
        """(member energies (M,) eV with the E0s, member forces (n, 3, M) eV/Å, stress (6,) eV/Å³ or None)."""
        periodic = bool(atoms.pbc.all())
        if atoms.pbc.any() and not periodic:
            raise SystemExit("apax frames must be periodic in all three directions or not at all")
        idx, offsets = self._neighbours(atoms, periodic)
        box = np.asarray(atoms.cell.array).T if periodic else np.zeros((3, 3))
        r = atoms.get_scaled_positions(wrap=False) if periodic else np.asarray(atoms.positions, dtype=float)
        e, f, dedeps = self._function(periodic)(r, np.asarray(atoms.numbers, dtype=np.int32), idx, box, offsets)
        e0 = sum(self.e0s.get(s, 0.0) for s in atoms.get_chemical_symbols())
        stress = None
        if periodic:
            g = np.asarray(dedeps, dtype=float)
            s = 0.5 * (g + g.T) / atoms.get_volume()
            stress = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
        return np.asarray(e, dtype=float) + e0, np.transpose(np.asarray(f, dtype=float), (1, 2, 0)), stress

    def evaluate(self, atoms):
        """(mean energy eV, mean forces (n, 3) eV/Å, stress or None, member energies, member forces)."""
        e, f, stress = self.members(atoms)
        return float(e.mean()), f.mean(axis=2), stress, e, f


def predict(task: dict, directory: Path) -> dict:
    import ase.io

    frames = list(ase.io.read(directory / task["frames"], index=":"))
    ev = Evaluator(task["model"], task.get("e0s", {}))
    results, member_e, member_f = [], [], []
    for a in frames:
        energy, forces, stress, e, f = ev.evaluate(a)
        results.append((energy, forces, stress))
        member_e.append(e)
        member_f.append(f)
    save_predictions(directory, frames, results)
    if frames and len(member_e[0]) > 1:
        np.savez(directory / MEMBERS_FILE, member_energy=np.array(member_e), member_forces=np.concatenate(member_f))
    return {"predictions": "predictions.npz", "members": MEMBERS_FILE if frames and len(member_e[0]) > 1 else None,
            "n_frames": len(frames), "n_members": int(len(member_e[0])) if frames else 0}


def client(task: dict, directory: Path) -> dict:
    import ase.io
    from ase.calculators.calculator import Calculator, all_changes
    from ase.calculators.socketio import SocketClient

    ev = Evaluator(task["model"], task.get("e0s", {}))

    class ApaxCalculator(Calculator):
        implemented_properties = ["energy", "free_energy", "forces", "stress"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            energy, forces, stress, e, f = ev.evaluate(self.atoms)
            self.results = {"energy": energy, "free_energy": energy, "forces": forces}
            self.members = (e, f)
            if stress is not None:
                self.results["stress"] = stress

    atoms = ase.io.read(directory / task["atoms"])
    calc = ApaxCalculator()
    atoms.calc = calc
    sock = SocketClient(unixsocket=task["unixsocket"])
    send = sock.protocol.sendforce

    def sendforce(energy, forces, virial, morebytes=None):
        e, f = calc.members
        extra = np.concatenate([e, f.reshape(-1)]).astype(np.float64).view(np.byte) if len(e) > 1 else np.zeros(1, dtype=np.byte)
        send(energy, forces, virial, morebytes=extra)

    sock.protocol.sendforce = sendforce
    sock.run(atoms, use_stress=bool(atoms.pbc.all()))
    return {"closed": True}


def speed(task: dict, directory: Path) -> dict:
    """Seconds per energy+forces+stress evaluation of ``atoms`` in this process (the native path)."""
    import ase.io

    ev = Evaluator(task["model"], task.get("e0s", {}))
    atoms = ase.io.read(directory / task["atoms"])
    ev.evaluate(atoms)  # compile
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(int(task.get("steps", 20))):
        a = atoms.copy()
        a.positions += rng.normal(0, 0.01, a.positions.shape)
        ev.evaluate(a)
    return {"s_per_step": (time.perf_counter() - t0) / int(task.get("steps", 20)), "n_atoms": len(atoms)}


MODES = {"train": train, "predict": predict, "client": client, "speed": speed}


if __name__ == "__main__":
    limit_threads()
    sys.exit(main(MODES, sys.argv[1:]))
