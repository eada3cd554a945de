"""Backend environments: where they live, a failed install, file tasks and the socket calculator.

The machinery is tested with this interpreter standing in for a backend environment (so no
environment needs to be created): workers written here are run by path, as deepmd_worker is.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ilforge.envs import manager, socket_calc, subprocess_task
from ilforge.envs.spec import EnvSpec, get_spec
from ilforge.errors import IlforgeError


def test_env_dir_hashes_the_requirements(tmp_path, monkeypatch):
    monkeypatch.setenv(manager.ENVS_DIR_VAR, str(tmp_path))
    a, b = EnvSpec("x", ("pkg==1.0",)), EnvSpec("x", ("pkg==1.1",))
    assert manager.env_dir(a).parent == tmp_path
    assert manager.env_dir(a).name.startswith("x-") and manager.env_dir(a) != manager.env_dir(b)
    assert manager.env_dir(get_spec("deepmd")).name == get_spec("deepmd").dirname
    with pytest.raises(IlforgeError, match="no environment is defined"):
        get_spec("nosuchbackend")


def test_missing_env_is_an_error_naming_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv(manager.ENVS_DIR_VAR, str(tmp_path))
    with pytest.raises(manager.EnvError, match="ilforge env create deepmd"):
        manager.env_python("deepmd", create=False)
    assert [r["ready"] for r in manager.list_envs()] == [False] * len(manager.list_envs())


def test_failed_pip_leaves_no_ready_marker(tmp_path, monkeypatch):
    monkeypatch.setenv(manager.ENVS_DIR_VAR, str(tmp_path))
    spec = EnvSpec("broken", (str(tmp_path / "no-such-package.whl"),), python=f"python{sys.version_info[0]}.{sys.version_info[1]}")
    monkeypatch.setattr(manager.shutil, "which", lambda name: sys.executable)
    with pytest.raises(manager.EnvError, match="(?s)pip install .*failed.*ilforge env create broken"):
        manager.ensure_env(spec)
    assert manager.env_dir(spec).is_dir() and not manager.is_ready(spec)


def test_torch_and_its_index_install_before_the_rest():
    """The index option goes with the torch pin only: a second call without it never asks PyTorch's index
    (unreachable on a mirror-only machine, where pip retried it five times for every package)."""
    for name in ("nequip", "sevenn"):
        spec = get_spec(name)
        first, rest = spec.install_steps()
        assert first == ("--extra-index-url=https://download.pytorch.org/whl/cpu", "torch==2.13.0+cpu")
        assert not any(r.startswith("-") or r.startswith("torch") for r in rest)
        assert sorted(first + rest) == sorted(spec.requirements)
    assert get_spec("apax").install_steps() == [get_spec("apax").requirements]


WORKER = """
import json, sys
from pathlib import Path
d = Path(sys.argv[1])
task = json.loads((d / "task.json").read_text())
if task.get("fail"):
    print("worker says: cannot do it", file=sys.stderr)
    sys.exit(3)
(d / "result.json").write_text(json.dumps({"twice": 2 * task["x"]}))
"""


def test_run_in_env_round_trip_and_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess_task, "env_python", lambda name: sys.executable)
    script = tmp_path / "w.py"
    script.write_text(WORKER)
    assert subprocess_task.run_in_env("fake", script, {"x": 21}, tmp_path / "a") == {"twice": 42}
    with pytest.raises(subprocess_task.WorkerError, match="cannot do it"):
        subprocess_task.run_in_env("fake", script, {"x": 1, "fail": True}, tmp_path / "b")


EMT_CLIENT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import ase.io
    from ase.calculators.emt import EMT
    from ase.calculators.socketio import SocketClient
    d = Path(sys.argv[1])
    task = json.loads((d / "task.json").read_text())
    atoms = ase.io.read(d / task["atoms"])
    atoms.calc = EMT()
    SocketClient(unixsocket=task["unixsocket"]).run(atoms, use_stress=True)
    (d / "result.json").write_text("{}")
""")


def test_socket_calculator_equals_the_in_process_calculator(tmp_path, monkeypatch):
    monkeypatch.setattr(socket_calc, "env_python", lambda name: sys.executable)
    script = tmp_path / "emt_client.py"
    script.write_text(EMT_CLIENT)
    factory = socket_calc.SocketCalculatorFactory.of("fake", str(script), {"model": "none"})
    import pickle

    calc = pickle.loads(pickle.dumps(factory))()
    try:
        for n, symbol in enumerate(["Cu", "Au", "Cu"]):  # a change of atoms starts (or reuses) a client
            a = bulk(symbol, "fcc", a=3.7 if symbol == "Cu" else 4.1, cubic=True).repeat((2, 1, 1))
            a.rattle(0.05, seed=n)
            a.calc = calc
            ref = a.copy()
            ref.calc = EMT()
            assert a.get_potential_energy() == pytest.approx(ref.get_potential_energy(), abs=1e-9)
            np.testing.assert_allclose(a.get_forces(), ref.get_forces(), atol=1e-9)
            np.testing.assert_allclose(a.get_stress(), ref.get_stress(), atol=1e-9)
        assert len(calc._clients) == 2
        procs = [c.server.proc for c, _ in calc._clients.values()]
    finally:
        calc.close()
    assert all(p.poll() is not None for p in procs)  # every client exited
