"""Resume exactness: an MD run killed (a hard kill, os._exit in a forked process: no cleanup, no flush)
at several moments and resumed gives, frame for frame and bit for bit, the uninterrupted trajectory.

Kill moments (equilibration 40 steps, production 60, checkpoint every 20, a frame every 5, the
H5MD buffer flushed every 3 frames, so a checkpoint never coincides with a full buffer):

- ``before:13``      step 13, before any checkpoint (the resume starts over)
- ``after_ckpt:20``  just after the checkpoint at step 20 was written
- ``before:60``      step 60 done, just before its frame and checkpoint
- ``after_ckpt:40``  just after the checkpoint at the equilibration→production boundary, before the
                     production's first frame
- ``before:41``      the first production step, the production's first frame only buffered
- ``before:77``      mid production
- ``after_ckpt:100`` after the last checkpoint, before ``run.json``
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from md_toy import li_bf4_box

from ilforge.md import observers, runner
from ilforge.md.checkpoint import read_checkpoint
from ilforge.md.result import MDResult
from ilforge.md.runner import StatePoint, run_state_point
from ilforge.md.settings import MDSettings
from ilforge.md.trajectory import read_h5md

KILLS = ["before:13", "after_ckpt:20", "before:60", "after_ckpt:40", "before:41", "before:77", "after_ckpt:100"]
ENSEMBLES = [("nvt", "langevin"), ("npt", "langevin"), ("nvt", "nose-hoover")]
KILLED = 9

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork for a hard kill")


class _FastToy(Calculator):
    """md_toy's force field (harmonic bonds + shifted LJ beyond bonds, same parameters) by all pairs
    under the minimum image in an orthorhombic box (valid for box edges > 2 rc): fast enough to
    run the 25 runs of this file in seconds."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, toy):
        super().__init__()
        self.t = toy
        self.bonded = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a, t = self.atoms, self.t
        n, L = len(a), np.diag(a.cell.array)
        assert L.min() > 2 * t.rc, "the minimum image needs box edges > 2 rc"
        if self.bonded is None:
            self.bonded = np.zeros((n, n), bool)
            self.bonded[t.bonds[:, 0], t.bonds[:, 1]] = self.bonded[t.bonds[:, 1], t.bonds[:, 0]] = True
        i, j = np.triu_indices(n, 1)
        D = a.positions[j] - a.positions[i]
        D -= L * np.rint(D / L)
        d = np.linalg.norm(D, axis=1)
        lj = (d < t.rc) & ~self.bonded[i, j]
        e_lj, de_lj = t._lj(np.where(lj, d, t.rc))
        b = self.bonded[i, j]
        de = np.where(lj, de_lj, 0.0) + np.where(b, t.k * (d - _r0(t, i, j, n)), 0.0)
        energy = np.where(lj, e_lj, 0.0).sum() + np.where(b, 0.5 * t.k * (d - _r0(t, i, j, n)) ** 2, 0.0).sum()
        f = (de / d)[:, None] * D
        forces = np.zeros((n, 3))
        np.add.at(forces, i, f)
        np.subtract.at(forces, j, f)
        virial = np.einsum("p,pa,pb->ab", de / d, D, D)
        self.results = {"energy": float(energy), "free_energy": float(energy), "forces": forces,
                        "stress": (virial / a.get_volume()).flat[[0, 4, 8, 5, 2, 1]]}


def _r0(t, i, j, n):
    r0 = np.zeros((n, n))
    r0[t.bonds[:, 0], t.bonds[:, 1]] = r0[t.bonds[:, 1], t.bonds[:, 0]] = t.r0
    return r0[i, j]


def _box():
    atoms, toy = li_bf4_box(4, spacing=6.5)
    return atoms, _FastToy(toy)


def test_fast_toy_is_md_toy():
    atoms, toy = li_bf4_box(4, spacing=6.5)
    atoms.rattle(0.1, seed=1)
    fast = atoms.copy()
    atoms.calc, fast.calc = toy, _FastToy(toy)
    assert fast.get_potential_energy() == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
    np.testing.assert_allclose(fast.get_forces(), atoms.get_forces(), atol=1e-10)
    np.testing.assert_allclose(fast.get_stress(), atoms.get_stress(), atol=1e-12)


def _settings(ensemble, thermostat):
    return MDSettings(ensemble=ensemble, thermostat=thermostat, timestep_fs=1.0, equilibration_ps=0.04, production_ps=0.06,
                      save_every_steps=5, checkpoint_every_steps=20, flush_every_frames=3, pdamp_fs=100.0, tdamp_fs=20.0,
                      seed=5)


def _arm(kill: str) -> None:
    """In the child: die with os._exit at the named moment (no finally blocks, nothing flushed)."""
    what, at = kill.split(":")
    at = int(at)
    if what == "before":
        make = runner.make_integrator

        def make_with_killer(atoms, *args):
            dyn = make(atoms, *args)
            dyn.attach(lambda: os._exit(KILLED) if dyn.nsteps == at else None, interval=1)  # before every observer
            return dyn

        runner.make_integrator = make_with_killer
    else:
        observe = observers.CheckpointWriter.observe

        def observe_then_die(self, step, dyn):
            observe(self, step, dyn)
            if step == at:
                os._exit(KILLED)

        observers.CheckpointWriter.observe = observe_then_die


def _run_killed(atoms, calc, s, outdir, state, kill) -> None:
    pid = os.fork()
    if pid == 0:  # the child: run until the kill
        code = 0
        try:
            _arm(kill)
            run_state_point(atoms, calc, s, outdir, state, progress=False)
        except BaseException:  # noqa: BLE001 - the child must never return into pytest
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == KILLED, f"the run was not killed at {kill}"


def _compare(a_dir, b_dir) -> float:
    """Max |difference| over every frame's positions, cells, times and observables of both files and the
    final checkpoint's positions and momenta; steps must be identical."""
    worst = 0.0
    for name in ("equilibration.h5", "production.h5"):
        a, b = read_h5md(a_dir / name), read_h5md(b_dir / name)
        assert list(a.step) == list(b.step), name
        for x, y in [(a.positions, b.positions), (a.cells, b.cells), (a.time_ps, b.time_ps)] + \
                [(a.observables[k], b.observables[k]) for k in a.observables]:
            worst = max(worst, float(np.nanmax(np.abs(x - y))) if x.size else 0.0)
    ca, cb = read_checkpoint(a_dir), read_checkpoint(b_dir)
    assert ca["step"] == cb["step"] == 100
    for k in ("positions", "momenta", "cell"):
        worst = max(worst, float(np.abs(ca[k] - cb[k]).max()))
    return worst


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted runs, one per ensemble."""
    out = {}
    for ens in ENSEMBLES:
        d = tmp_path_factory.mktemp("straight")
        atoms, calc = _box()
        res = run_state_point(atoms, calc, _settings(*ens), d, StatePoint(300.0, 1.0), progress=False)
        assert res.completed
        out[ens] = d
    return out


@pytest.mark.parametrize("ens", ENSEMBLES, ids=lambda e: "-".join(e))
def test_killed_and_resumed_equals_uninterrupted(tmp_path, straight, ens):
    s = _settings(*ens)
    ref = read_h5md(straight[ens] / "production.h5")
    assert list(ref.step) == list(range(40, 105, 5))  # the boundary frame once, in production
    assert list(read_h5md(straight[ens] / "equilibration.h5").step) == list(range(5, 45, 5))
    if ens[0] == "npt":
        assert np.ptp(ref.volumes_A3) > 0
    for kill in KILLS:
        d = tmp_path / kill.replace(":", "_")
        atoms, calc = _box()
        _run_killed(atoms.copy(), calc, s, d, StatePoint(300.0, 1.0), kill)
        assert MDResult.load(d) is None
        res = run_state_point(atoms.copy(), calc, s, d, StatePoint(300.0, 1.0), progress=False)
        assert res.completed and res.steps_done == 100
        dev = _compare(straight[ens], d)
        assert dev == 0.0, f"{ens} killed at {kill}: max deviation {dev:.3e}"


def test_without_the_random_stream_langevin_drifts(tmp_path, straight):
    """The control: a checkpoint whose random-stream state is dropped resumes into another trajectory
    (so the exactness above is a real test of what the checkpoint carries)."""
    import json

    ens = ("nvt", "langevin")
    s = _settings(*ens)
    d = tmp_path / "lost"
    atoms, calc = _box()
    _run_killed(atoms.copy(), calc, s, d, StatePoint(300.0), "after_ckpt:40")
    with np.load(d / "checkpoint.npz") as z:
        doc = {k: z[k] for k in z.files}
    doc["state"] = np.array(json.dumps({}))
    with open(d / "checkpoint.npz", "wb") as fh:
        np.savez(fh, **doc)
    run_state_point(atoms.copy(), calc, s, d, StatePoint(300.0), progress=False)
    a, b = read_h5md(straight[ens] / "production.h5"), read_h5md(d / "production.h5")
    assert list(a.step) == list(b.step)
    assert np.abs(a.positions[-1] - b.positions[-1]).max() > 1e-4
