"""An ASE calculator whose model runs in a backend environment, over the i-PI socket protocol.

The host side is ASE's :class:`~ase.calculators.socketio.SocketIOCalculator` on a Unix socket
(``/tmp/ipi_<name>``); its client is a worker process started with the backend environment's
Python (``<worker> <dir>`` with ``task.json`` ``{"mode": "client", "unixsocket", "atoms", ...}``)
that runs the backend's own calculator under ASE's ``SocketClient``. Each step sends positions and
cell, and receives energy (eV), forces (eV/Å) and the virial W (eV); the stress is σ = −W/V (eV/Å³,
ASE sign), the client computing W = −σV from its calculator's stress.

The i-PI protocol fixes the atoms (numbers, count, periodicity) per connection, so
:class:`EnvSocketCalculator` keeps one client per distinct set of atoms (at most ``max_clients``,
the oldest closed first): MD uses one, a test over several compositions a few. Clients are closed
by :meth:`EnvSocketCalculator.close`, when the calculator is garbage-collected, or at interpreter exit. :class:`SocketCalculatorFactory` is the
picklable recipe MD processes build it from.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ase.calculators.calculator import Calculator, all_changes

from ilforge.engine.task import LOG, write_task_json
from ilforge.envs.manager import env_python
from ilforge.envs.subprocess_task import WorkerError, log_tail, worker_environ, worker_path
from ilforge.errors import IlforgeError

log = logging.getLogger(__name__)

ATOMS_FILE = "atoms.extxyz"


class _Launcher:
    """ASE's ``launch_client``: write the atoms and the task, start the worker in the environment."""

    def __init__(self, env: str, worker: str, task: dict, threads: int | None):
        self.env, self.worker, self.task, self.threads = env, worker, task, threads
        self.directory = Path(tempfile.mkdtemp(prefix=f"ilforge-{env}-client-"))

    def __call__(self, atoms, properties=None, port=None, unixsocket=None):
        import ase.io

        a = atoms.copy()
        a.calc = None
        ase.io.write(self.directory / ATOMS_FILE, a, format="extxyz")
        write_task_json(self.directory, {**self.task, "mode": "client", "unixsocket": unixsocket, "atoms": ATOMS_FILE})
        cmd = [str(env_python(self.env)), str(worker_path(self.worker)), str(self.directory)]
        with open(self.directory / LOG, "w") as fh:
            return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=self.directory,
                                    env=worker_environ(self.threads))


def _close_client(entry) -> None:
    calc, launcher = entry
    try:
        calc.close()
    finally:
        shutil.rmtree(launcher.directory, ignore_errors=True)


def _close_all(clients: OrderedDict) -> None:
    while clients:
        _close_client(clients.popitem(last=False)[1])


class EnvSocketCalculator(Calculator):
    """Energy (eV), forces (eV/Å) and stress (eV/Å³, periodic cells) from a client in environment ``env``.

    ``worker``: the worker script (name in ``ilforge/envs/workers`` or a path); ``task``: what the
    worker needs to build its calculator (model file, E0s...); ``threads``: its OpenMP/TF threads;
    ``timeout_s``: how long a step may wait for the client (None: forever).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, env: str, worker: str, task: dict, threads: int | None = None, max_clients: int = 4,
                 timeout_s: float | None = 3600.0, **kwargs):
        super().__init__(**kwargs)
        self.env, self.worker, self.task, self.threads = env, worker, dict(task), threads
        self.max_clients, self.timeout_s = max_clients, timeout_s
        self._clients: OrderedDict[tuple, tuple] = OrderedDict()
        self._finalizer = weakref.finalize(self, _close_all, self._clients)  # also at interpreter exit

    def _client(self, atoms):
        from ase.calculators.socketio import SocketIOCalculator

        key = (tuple(int(z) for z in atoms.numbers), tuple(bool(p) for p in atoms.pbc))
        if key in self._clients:
            self._clients.move_to_end(key)
            return self._clients[key][0]
        while len(self._clients) >= self.max_clients:
            _close_client(self._clients.popitem(last=False)[1])
        launcher = _Launcher(self.env, self.worker, self.task, self.threads)
        name = f"ilforge_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        calc = SocketIOCalculator(unixsocket=name, launch_client=launcher, timeout=self.timeout_s)
        self._clients[key] = (calc, launcher)
        return calc

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        sock = self._client(self.atoms)
        a = self.atoms.copy()
        a.calc = sock
        try:
            energy = a.get_potential_energy()
        except OSError as exc:  # the client died (ASE: "Subprocess terminated unexpectedly") or the socket broke
            launcher = self._clients[next(reversed(self._clients))][1]
            raise WorkerError(f"the {self.env} calculator client failed ({exc}); last lines of "
                              f"{launcher.directory / LOG}:\n{log_tail(launcher.directory / LOG)}") from None
        self.results = {"energy": energy, "free_energy": energy, "forces": sock.results["forces"].copy()}
        if "stress" in sock.results:
            self.results["stress"] = sock.results["stress"].copy()

    def close(self) -> None:
        """Stop every client (each exits when its socket closes) and remove their folders."""
        _close_all(self._clients)


@dataclass(frozen=True)
class SocketCalculatorFactory:
    """Picklable recipe of an :class:`EnvSocketCalculator`: call it in the process that runs MD.

    ``task_json``: the worker's task as JSON text (kept as text so the recipe is hashable plain data).
    """

    env: str
    worker: str
    task_json: str
    threads: int | None = None

    @classmethod
    def of(cls, env: str, worker: str, task: dict, threads: int | None = None) -> "SocketCalculatorFactory":
        return cls(env, worker, json.dumps(task, sort_keys=True), threads)

    def __call__(self) -> EnvSocketCalculator:
        try:
            task = json.loads(self.task_json)
        except ValueError as exc:
            raise IlforgeError(f"socket calculator task is not JSON ({exc})") from None
        return EnvSocketCalculator(self.env, self.worker, task, threads=self.threads)
