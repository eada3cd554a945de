"""MD runner, monitors and H5MD output on a toy Li⁺/BF4⁻ system (harmonic bonds + LJ)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from md_toy import li_bf4_box

from ilforge.md.monitors import BondGraphMonitor, CommitteeSpreadMonitor, MinDistanceMonitor, energy_drift
from ilforge.md.runner import StatePoint, plan_segments, run_state_point
from ilforge.md.settings import MDSettings
from ilforge.md.trajectory import read_h5md


def test_toy_forces_and_stress_match_finite_differences():
    atoms, calc = li_bf4_box(4, seed=1)
    atoms.rattle(0.05, seed=2)
    atoms.calc = calc
    from ase.calculators.fd import calculate_numerical_forces

    np.testing.assert_allclose(atoms.get_forces(), calculate_numerical_forces(atoms, 1e-5), atol=1e-6)
    from ase.calculators.fd import calculate_numerical_stress

    num = calculate_numerical_stress(atoms, 1e-6)
    np.testing.assert_allclose(atoms.get_stress(), num, atol=1e-7)


def test_species_topology_used_by_bond_monitor():
    atoms, _ = li_bf4_box(4)
    mon = BondGraphMonitor(atoms)
    assert mon.source == "species topology" and len(mon.bonds) == 16
    assert mon.check(0, atoms) is None
    atoms.positions[2] += [1.5, 0, 0]  # pull an F away from its B
    p = mon.check(5, atoms)
    assert p is not None and "broke" in p.message and p.step == 5


def test_min_distance_monitor_counts_and_stops():
    atoms, _ = li_bf4_box(4)
    mon = MinDistanceMonitor({"Li-Li": 2.0}, 0.5, {"Li-Li": 6.0})
    assert mon.check(1, atoms) is None
    li = np.flatnonzero(atoms.numbers == 3)
    atoms.positions[li[1]] = atoms.positions[li[0]] + [1.5, 0, 0]
    p = mon.check(2, atoms)
    assert p is not None and "Li-Li distance 1.50" in p.message
    assert mon.summary()["close_contacts"]["Li-Li"]["checks"] == 2


def test_committee_spread_saves_frames(tmp_path):
    atoms, calc = li_bf4_box(2)
    atoms.calc = calc
    atoms.get_forces()
    rng = np.random.default_rng(0)
    members = calc.results["forces"][None] + rng.normal(0, 1.0, (3, len(atoms), 3))
    calc.results["forces_std"] = members.std(axis=0)
    calc.results["energies"] = np.zeros(3)
    mon = CommitteeSpreadMonitor(0.3, 5.0, tmp_path / "spread.extxyz")
    assert mon.check(10, atoms) is None
    assert mon.saved == 1 and (tmp_path / "spread.extxyz").is_file()
    p = CommitteeSpreadMonitor(0.3, 0.5, tmp_path / "s2.extxyz").check(11, atoms)
    assert p is not None and "disagree" in p.message
    # the spread is max_i |σ_F,i| = max_i sqrt(Σ_k var_members(F_ik))
    want = np.sqrt(members.var(axis=0).sum(axis=1)).max()
    assert CommitteeSpreadMonitor.spread(atoms) == pytest.approx(want)
    calc.results["max_force_std"] = 0.25  # the committee calculator's own number wins
    assert CommitteeSpreadMonitor.spread(atoms) == 0.25
    calc.results["energies"] = np.zeros(1)  # a committee of one has no spread
    assert CommitteeSpreadMonitor.spread(atoms) is None


def test_schedule_segments():
    s = MDSettings(ensemble="npt", equilibration_ps=0.01, production_ps=0.02, timestep_fs=1.0,
                   schedule=[{"duration_ps": 0.01, "temperature_K": 500, "temperature_end_K": 300, "ramp_pieces": 2}])
    segs = plan_segments(s, StatePoint(300.0, 1.0))
    assert [g.phase for g in segs] == ["schedule", "schedule", "equilibration", "production"]
    assert [g.n_steps for g in segs] == [5, 5, 10, 20]
    assert segs[0].temperature_K == pytest.approx(450) and segs[1].temperature_K == pytest.approx(350)
    assert segs[2].start == 10 and segs[3].start == 20


@pytest.mark.parametrize("ensemble,thermostat", [("nvt", "langevin"), ("nvt", "nose-hoover"), ("npt", "langevin")])
def test_run_writes_h5md_and_resumes(tmp_path, ensemble, thermostat):
    atoms, calc = li_bf4_box(4)
    s = MDSettings(ensemble=ensemble, thermostat=thermostat, timestep_fs=1.0, equilibration_ps=0.02, production_ps=0.06,
                   save_every_steps=5, checkpoint_every_steps=20, pdamp_fs=200.0)
    res = run_state_point(atoms, calc, s, tmp_path, StatePoint(300.0, 1.0 if ensemble == "npt" else None))
    assert res.status == "completed", res.problem
    tr = read_h5md(tmp_path / "production.h5")
    assert tr.n_frames == 60 // 5 + 1 and tr.step[0] == 20 and tr.step[-1] == 80
    assert list(tr.mol_species[:2]) == ["Li", "BF4"] and tr.mol_id is not None
    assert np.all(np.isfinite(tr.observables["potential_energy"]))
    if ensemble == "npt":
        assert np.ptp(tr.volumes_A3) > 0
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["status"] == "completed" and doc["monitors"]["bond_graph"]["reference"] == "species topology"
    # a finished run is not repeated
    again = run_state_point(atoms, calc, s, tmp_path, StatePoint(300.0, 1.0 if ensemble == "npt" else None))
    assert again.steps_done == res.steps_done and again.wall_s == res.wall_s


def test_production_frames_are_evenly_spaced_when_equilibration_is_not_a_multiple(tmp_path):
    """7 equilibration steps, a frame every 2: production frames at steps 7, 9, ..., not 7, 8, 10, ...
    (uneven spacing stops every time-correlation analysis)."""
    atoms, calc = li_bf4_box(4)
    s = MDSettings(ensemble="nvt", timestep_fs=1.0, equilibration_ps=0.007, production_ps=0.01, save_every_steps=2)
    res = run_state_point(atoms, calc, s, tmp_path, StatePoint(300.0))
    assert res.status == "completed", res.problem
    assert list(read_h5md(tmp_path / "production.h5").step) == list(range(7, 18, 2))
    assert list(read_h5md(tmp_path / "equilibration.h5").step) == [2, 4, 6]


def test_restart_continues_from_checkpoint(tmp_path):
    """A run whose record is gone resumes from its last checkpoint: the frames after it are cut and
    rewritten, none duplicated (the kill matrix is in test_md_resume_exact.py)."""
    atoms, calc = li_bf4_box(4)
    s = MDSettings(ensemble="nvt", timestep_fs=1.0, equilibration_ps=0.0, production_ps=0.04, save_every_steps=5, checkpoint_every_steps=20)
    first = run_state_point(atoms.copy(), calc, s, tmp_path, StatePoint(300.0))
    from ilforge.md.checkpoint import read_checkpoint

    assert read_checkpoint(tmp_path)["step"] == 40 and read_checkpoint(tmp_path)["frames"] == {"production": 9, "equilibration": 0}
    (tmp_path / "run.json").unlink()
    res = run_state_point(atoms.copy(), calc, s, tmp_path, StatePoint(300.0))
    tr = read_h5md(tmp_path / "production.h5")
    assert res.status == "completed" and res.steps_done == 40 and first.steps_done == 40
    assert list(tr.step) == list(range(0, 45, 5))


@pytest.mark.parametrize("ensemble,thermostat", [("nvt", "langevin"), ("nvt", "nose-hoover"), ("npt", "nose-hoover")])
def test_resumed_run_continues_the_interrupted_one_exactly(tmp_path, ensemble, thermostat):
    """A run stopped at step 40 and resumed to step 80 equals an uninterrupted 80-step run: the
    checkpoint carries the Nose-Hoover/MTK variables and the Langevin random stream."""
    atoms, calc = li_bf4_box(4)
    P = 1.0 if ensemble == "npt" else None

    def settings(n_steps):
        return MDSettings(ensemble=ensemble, thermostat=thermostat, timestep_fs=1.0, equilibration_ps=0.0,
                          production_ps=n_steps / 1000, save_every_steps=10, checkpoint_every_steps=20, pdamp_fs=100.0,
                          tdamp_fs=20.0)

    run_state_point(atoms.copy(), calc, settings(80), tmp_path / "straight", StatePoint(300.0, P))
    for name in ("resumed", "state_lost"):
        run_state_point(atoms.copy(), calc, settings(40), tmp_path / name, StatePoint(300.0, P))  # "interrupted" at 40
    ck = tmp_path / "state_lost" / "checkpoint.npz"
    with np.load(ck) as z:
        doc = {k: z[k] for k in z.files}
    doc["state"] = np.array("{}")  # the control: a checkpoint of positions and momenta only
    with open(ck, "wb") as fh:
        np.savez(fh, **doc)
    for name in ("resumed", "state_lost"):
        run_state_point(atoms.copy(), calc, settings(80), tmp_path / name, StatePoint(300.0, P))
    a, b, c = (read_h5md(tmp_path / n / "production.h5") for n in ("straight", "resumed", "state_lost"))
    assert list(a.step) == list(b.step) == list(range(0, 90, 10))
    # bit for bit ...
    np.testing.assert_array_equal(b.positions, a.positions)
    np.testing.assert_array_equal(b.volumes_A3, a.volumes_A3)
    # ... while a restart without the integrator state drifts away
    assert np.abs(c.positions[-1] - a.positions[-1]).max() > 1e-5
    if ensemble == "npt":
        assert np.ptp(a.volumes_A3) > 0


def test_nve_energy_drift_small(tmp_path):
    atoms, calc = li_bf4_box(4)
    s = MDSettings(ensemble="nve", timestep_fs=0.5, equilibration_ps=0.0, production_ps=0.1, save_every_steps=10)
    res = run_state_point(atoms, calc, s, tmp_path, StatePoint(300.0))
    assert res.status == "completed"
    assert abs(res.nve_drift_eV_ps_atom) < 1e-4  # measured ~5e-6 at 0.5 fs, ~3e-4 at 2 fs
    assert energy_drift([0, 1, 2], [0.0, 2.0, 4.0], 2) == pytest.approx(1.0)


def test_bad_forces_stop_the_run_with_a_message(tmp_path):
    atoms, calc = li_bf4_box(4)
    calc.k = -50.0  # bonds now push atoms apart: molecules explode
    s = MDSettings(ensemble="nvt", timestep_fs=1.0, equilibration_ps=0.0, production_ps=0.5)
    res = run_state_point(atoms, calc, s, tmp_path, StatePoint(300.0))
    assert res.status == "stopped" and res.steps_done < 500
    assert "broke" in res.problem or "runaway" in res.problem


def test_labeler_runs_as_a_calculator(tmp_path):
    from ilforge.reference.calculator import LabelerCalculator
    from ilforge.labels import Labels
    from ilforge.reference.base import Labeler

    atoms, toy = li_bf4_box(2)

    class ToyLabeler(Labeler):
        level_of_theory = "toy"

        def label(self, a):
            a = a.copy()
            a.calc = toy
            return Labels(a.get_potential_energy(), a.get_forces(), a.get_stress())

    s = MDSettings(ensemble="npt", timestep_fs=1.0, equilibration_ps=0.0, production_ps=0.01, save_every_steps=5)
    res = run_state_point(atoms, LabelerCalculator(ToyLabeler()), s, tmp_path, StatePoint(300.0, 1.0))
    assert res.status == "completed" and res.steps_done == 10


@pytest.mark.parametrize("cell", [np.diag([9.0, 10.0, 11.0]), np.array([[10.0, 0, 0], [2.0, 10.0, 0], [1.0, 1.5, 10.0]])])
def test_monitor_neighbour_pairs_match_ase(cell):
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    from ilforge.md import monitors

    rng = np.random.default_rng(3)
    atoms = Atoms("C60", positions=rng.random((60, 3)) @ cell + rng.normal(0, 15, (60, 3)), cell=cell, pbc=True)
    monitors._PAIR_CACHE.clear()
    i, j, d = monitors._neighbor_pairs(atoms, 3.0)
    i2, j2, d2 = neighbor_list("ijd", atoms, 3.0)
    keep = i2 < j2
    got = sorted(zip(i.tolist(), j.tolist(), np.round(d, 9).tolist()))
    want = sorted(zip(i2[keep].tolist(), j2[keep].tolist(), np.round(d2[keep], 9).tolist()))
    assert got == want
    i3, j3, d3 = monitors._neighbor_pairs(atoms, 2.0)  # served from the cache, filtered
    assert np.all(d3 < 2.0) and len(d3) == int(np.sum(d2[keep] < 2.0))


def test_state_points_run_as_file_tasks_in_a_process_pool(tmp_path):
    from ase import Atoms
    from ase.io import write

    from ilforge.engine.task import read_task_json
    from ilforge.md.calculators import NamedCalculator
    from ilforge.md.runner import state_points
    from ilforge.engine.local import local_executor
    from ilforge.md.state_points import run_state_points

    rng = np.random.default_rng(0)
    grid = np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], float) * 3.6
    atoms = Atoms("Ar27", positions=grid + rng.normal(0, 0.05, grid.shape), cell=np.eye(3) * 10.8, pbc=True)
    write(tmp_path / "ar.extxyz", atoms)
    s = MDSettings(ensemble="nvt", timestep_fs=2.0, equilibration_ps=0.0, production_ps=0.02, save_every_steps=5,
                   monitors={"bonds": False})
    points = state_points(s, [80.0, 120.0])
    dirs = [tmp_path / "md" / p.label for p in points]
    seen = []
    with local_executor(2, cores=2) as ex:
        res = run_state_points(tmp_path / "ar.extxyz", NamedCalculator("lj").to_dict(), s, dirs, points, executor=ex,
                               on_done=seen.append, seeds=[11, 12])
    assert [r.status for r in res] == ["completed", "completed"]
    assert [r.temperature_K for r in res] == [80.0, 120.0] and sorted(r.temperature_K for r in seen) == [80.0, 120.0]
    assert (tmp_path / "md" / "T120K" / "production.h5").is_file()
    task = read_task_json(dirs[1])
    assert task["calculator"] == {"kind": "named", "name": "lj"} and task["seed"] == 12 and task["settings"]["seed"] == 12
    # the same task inline (in this process) finds the finished run and returns it
    again = run_state_points(tmp_path / "ar.extxyz", {"kind": "named", "name": "lj"}, s, dirs[:1], points[:1], seeds=[11])
    assert again[0].wall_s == res[0].wall_s


def test_state_point_task_failure_is_an_error(tmp_path):
    from ase import Atoms

    from ilforge.errors import IlforgeError
    from ilforge.md.state_points import run_state_points

    s = MDSettings(ensemble="nvt", equilibration_ps=0.0, production_ps=0.002, save_every_steps=2, monitors={"bonds": False})
    with pytest.raises(IlforgeError, match="failed"):
        run_state_points(Atoms("Ar", cell=np.eye(3) * 5, pbc=True), {"kind": "named", "name": "nope"}, s, [tmp_path / "x"],
                         [StatePoint(100.0)])
