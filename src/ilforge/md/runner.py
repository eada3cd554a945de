"""The MD runner: equilibration then production at one state point, with monitors, H5MD output and restarts.

Integrators (ASE 3.29): NVT with ``Langevin`` or ``NoseHooverChainNVT`` (Martyna, Klein,
Tuckerman, J. Chem. Phys. 97, 2635 (1992)); NPT with ``IsotropicMTKNPT`` (Martyna, Tobias,
Klein, J. Chem. Phys. 101, 4177 (1994)): isotropic cell fluctuations with Nose-Hoover chains on
particles and barostat; NVE with velocity Verlet. Steps: an optional schedule of temperature /
pressure stages, the equilibration at the state point, then production, each a segment run by
its own integrator. Writer, monitors, checkpoints and progress are observers attached to the
integrator (:mod:`ilforge.md.observers`): frames every ``save_every_steps`` go to
``equilibration.h5`` / ``production.h5``; monitors run every ``monitors.check_every_steps``; a
checkpoint (exact positions, momenta, cell, the integrator state, the random stream and the frame
counts of both files, :mod:`ilforge.md.checkpoint`) every ``checkpoint_every_steps``, after the
buffered frames are flushed. Running the same call again resumes from the last checkpoint and
gives, frame for frame and bit for bit, the trajectory of an uninterrupted run (also when the
checkpoint lies on a segment boundary), or returns at once when the run was done. Before the first
force call the temperatures and the positions, momenta and cell are checked to be finite
(:func:`check_finite`): a NaN position would make a neighbour list loop forever.

Several state points, each a file-described task: :mod:`ilforge.md.state_points`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ilforge.errors import IlforgeError
from ilforge.md.checkpoint import has_checkpoint, read_checkpoint, remove_checkpoint, restore_integrator_state, restore_rng
from ilforge.md.monitors import Monitor, Problem, TemperatureMonitor, default_monitors, energy_drift
from ilforge.md.observers import CheckpointWriter, FrameWriter, MonitorCheck, Observer, ProgressReport, StopRun
from ilforge.md.result import (CHECKPOINT, COMPLETED, EQUILIBRATION, HIGH_SPREAD_FRAMES, INPUTS_JSON, PRODUCTION, PROGRESS,
                               RUN_JSON, STOPPED, MDResult)
from ilforge.md.settings import MDSettings
from ilforge.md.trajectory import read_h5md
from ilforge.jsonio import write_extxyz_atomic, write_json_atomic
from ilforge.progress import Progress
from ilforge.units import BAR, FS, PS

log = logging.getLogger(__name__)

__all__ = ["MDResult", "StatePoint", "make_integrator", "plan_segments", "run_state_point", "state_points"]


@dataclass(frozen=True)
class StatePoint:
    """A temperature (K) and, for NPT, a pressure (bar)."""

    temperature_K: float
    pressure_bar: float | None = None

    @property
    def label(self) -> str:
        t = f"T{self.temperature_K:g}K"
        return t if self.pressure_bar is None else f"{t}_P{self.pressure_bar:g}bar"


@dataclass
class _Segment:
    phase: str  # schedule | equilibration | production
    start: int
    n_steps: int
    temperature_K: float
    pressure_bar: float | None


def plan_segments(settings: MDSettings, state: StatePoint) -> list[_Segment]:
    """The list of constant-condition segments: schedule stages (ramps cut into pieces), equilibration, production."""
    segs: list[_Segment] = []
    step = 0
    for st in settings.schedule:
        n = settings.n_steps(st.duration_ps)
        T0 = st.temperature_K or state.temperature_K
        P = st.pressure_bar if st.pressure_bar is not None else state.pressure_bar
        if st.temperature_end_K is None:
            pieces = [(n, T0)]
        else:
            k = st.ramp_pieces
            sizes = np.diff(np.linspace(0, n, k + 1).round().astype(int))
            pieces = [(int(s), float(T0 + (st.temperature_end_K - T0) * (i + 0.5) / k)) for i, s in enumerate(sizes)]
        for ns, T in pieces:
            if ns > 0:
                segs.append(_Segment("schedule", step, ns, T, P))
                step += ns
    for phase, dur in (("equilibration", settings.equilibration_ps), ("production", settings.production_ps)):
        n = settings.n_steps(dur)
        if n > 0:
            segs.append(_Segment(phase, step, n, state.temperature_K, state.pressure_bar))
            step += n
    return segs


def make_integrator(atoms, settings: MDSettings, temperature_K: float, pressure_bar: float | None, rng):
    """The ASE integrator for the ensemble at (T, P)."""
    from ase.md.nose_hoover_chain import IsotropicMTKNPT, NoseHooverChainNVT

    dt = settings.timestep_fs * FS
    if settings.ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, dt)
    if settings.ensemble == "npt":
        if pressure_bar is None:
            raise IlforgeError("NPT needs a pressure: give md.pressures_bar in the recipe or --pressure-bar")
        if not all(atoms.pbc):
            raise IlforgeError("NPT needs a periodic box (pbc on all three axes)")
        return IsotropicMTKNPT(atoms, dt, temperature_K=temperature_K, pressure_au=pressure_bar * BAR,
                               tdamp=settings.tdamp_fs * FS, pdamp=settings.pdamp_fs * FS, tchain=settings.tchain, pchain=settings.tchain)
    if settings.thermostat == "langevin":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=temperature_K, friction=settings.friction_per_ps / PS, fixcm=False, rng=rng)
    return NoseHooverChainNVT(atoms, dt, temperature_K=temperature_K, tdamp=settings.tdamp_fs * FS, tchain=settings.tchain)


def _state_for(settings: MDSettings, state: StatePoint) -> StatePoint:
    """The state point as the ensemble runs it: NPT needs a pressure (default the first of
    ``settings.pressures_bar``), NVT and NVE have none."""
    if settings.ensemble == "npt" and state.pressure_bar is None:
        return StatePoint(state.temperature_K, settings.pressures_bar[0])
    if settings.ensemble != "npt" and state.pressure_bar is not None:
        return StatePoint(state.temperature_K, None)
    return state


def _finished(outdir: Path, total: int) -> MDResult | None:
    prev = MDResult.load(outdir)
    if prev is not None and prev.completed and prev.steps_total == total:
        log.info("%s: already completed; nothing to do", outdir)
        return prev
    return None


def check_finite(atoms, where: str) -> None:
    """Positions, momenta and (periodic) cell finite, the periodic cell not degenerate; else an
    :class:`IlforgeError` before any force call (a NaN position makes neighbour lists loop forever)."""
    bad = [name for name, x in (("positions", atoms.positions), ("momenta", atoms.get_momenta()), ("cell", atoms.cell.array))
           if not np.all(np.isfinite(x))]
    if bad:
        raise IlforgeError(f"{where}: non-finite {', '.join(bad)} (NaN or inf) before the first MD step; check the structure "
                           "file (or the checkpoint) and that temperatures are positive and finite")
    if any(atoms.pbc) and atoms.cell.rank == 3 and not abs(atoms.get_volume()) > 1e-6:
        raise IlforgeError(f"{where}: the periodic cell has zero volume; give a structure file with a proper cell")


def check_state_point(segs, where: str) -> None:
    """Every segment's temperature positive and finite, pressures finite; else an :class:`IlforgeError`."""
    for seg in segs:
        if not (np.isfinite(seg.temperature_K) and seg.temperature_K > 0):
            raise IlforgeError(f"{where}: temperature {seg.temperature_K} K of the {seg.phase}; temperatures must be finite "
                               "and > 0 K (md.temperatures_K, --temperature-K)")
        if seg.pressure_bar is not None and not np.isfinite(seg.pressure_bar):
            raise IlforgeError(f"{where}: pressure {seg.pressure_bar} bar of the {seg.phase}; give a finite pressure")


def _start(atoms, temperature_K: float, outdir: Path, restart: bool, seed: int):
    """Where the run starts: (step, checkpoint dict or None). From the checkpoint when there is one
    (``restart``), else at step 0 with Maxwell-Boltzmann momenta at ``temperature_K``."""
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    if restart and has_checkpoint(outdir):
        ck = read_checkpoint(outdir)
        if len(ck["numbers"]) != len(atoms) or not np.array_equal(ck["numbers"], atoms.numbers):
            raise IlforgeError(f"{outdir / CHECKPOINT} belongs to another system; use a new output directory or delete it")
        atoms.set_cell(ck["cell"], scale_atoms=False)
        atoms.positions = ck["positions"]
        atoms.set_momenta(ck["momenta"])
        log.info("%s: resuming from step %d", outdir, ck["step"])
        return ck["step"], ck
    remove_checkpoint(outdir)
    thermalize_momenta(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
    Stationary(atoms)
    return 0, None


def _observers(atoms, settings: MDSettings, state: StatePoint, outdir: Path, segs, rng, monitors, progress, ck):
    """Writer, monitor check, checkpoint and progress, in the order they act at a step."""
    total = sum(s.n_steps for s in segs)
    ends = [s.start + s.n_steps for s in segs]
    meta = {"temperature_K": state.temperature_K, "pressure_bar": state.pressure_bar, "ensemble": settings.ensemble,
            "timestep_fs": settings.timestep_fs, "save_every_steps": settings.save_every_steps}
    writer = FrameWriter(atoms, outdir, settings, meta, None if ck is None else ck["frames"])
    check = MonitorCheck(atoms, monitors, settings.monitors.check_every_steps, ends)
    obs: list[Observer] = [writer, check, CheckpointWriter(atoms, outdir, rng, settings.checkpoint_every_steps, total, writer)]
    if progress is not None:
        every = min(settings.save_every_steps, settings.monitors.check_every_steps)
        obs.append(ProgressReport(progress, atoms, settings.timestep_fs, every, ends))
    return writer, obs


def _run_segments(atoms, settings: MDSettings, segs, step: int, ck, rng, observers, monitors) -> tuple[int, Problem | None]:
    """Run the segments from ``step`` on, one integrator each, observers attached; (last step, problem).
    ``ck``: the checkpoint resumed from (its integrator state is put back when it lies inside a segment;
    at a segment boundary the new segment starts with a new integrator, as an uninterrupted run does)."""
    for seg in segs:
        end = seg.start + seg.n_steps
        if step >= end:
            continue
        for m in monitors:
            if isinstance(m, TemperatureMonitor) and settings.ensemble != "nve":
                m.target_K = seg.temperature_K
        dyn = make_integrator(atoms, settings, seg.temperature_K, seg.pressure_bar, rng)
        if ck is not None and seg.start < step:  # resuming inside this segment
            restore_integrator_state(dyn, ck["state"])
        ck = None
        dyn.nsteps = step  # observers see the run's global step
        for o in observers:
            o.begin(dyn, seg, step)
        try:
            dyn.run(end - step)
            for o in observers:
                o.finish(dyn)
        except StopRun as stop:
            return int(dyn.nsteps), stop.problem
        step = int(dyn.nsteps)
    return step, None


def _prepare(atoms, calculator, settings: MDSettings, outdir: Path, state: StatePoint, segs, monitors, restart: bool):
    """Monitors (on the starting structure), the starting point and the random stream; checks that
    the state is finite before any force call, then makes the first force call (so ``atom_steps_per_s``
    leaves out a calculator's start-up). Returns (step0, checkpoint or None, rng, monitors)."""
    seed = 0 if settings.seed is None else int(settings.seed)
    check_state_point(segs, str(outdir))
    check_finite(atoms, f"starting structure of {outdir}")
    mons = monitors if monitors is not None else default_monitors(settings.monitors, atoms, state.temperature_K, outdir)
    step0, ck = _start(atoms, segs[0].temperature_K if segs else state.temperature_K, outdir, restart, seed)
    check_finite(atoms, f"checkpoint of {outdir}" if ck is not None else f"starting structure of {outdir}")
    rng = np.random.default_rng([seed, step0])
    if ck is not None and "rng" in ck["state"]:
        restore_rng(rng, ck["state"])  # the random stream runs on across segments, as uninterrupted
    if ck is not None:
        _trim_high_spread(outdir / HIGH_SPREAD_FRAMES, step0)
    atoms.calc = calculator
    atoms.get_forces()  # before the clock: a socket client's start or a compile is not an MD step (cached for step 1)
    return step0, ck, rng, mons


def _trim_high_spread(path: Path, step: int) -> None:
    """Drop frames saved for labelling after ``step`` (the checkpoint resumed from): the resumed run
    saves them again."""
    if not path.is_file():
        return
    from ase.io import read

    frames = read(path, ":", format="extxyz")
    keep = [a for a in frames if int(a.info.get("md_step", -1)) <= step]
    if not keep:
        path.unlink()
    elif len(keep) < len(frames):
        write_extxyz_atomic(path, keep)


def _forget_changed_run(outdir: Path, identity: dict | None) -> None:
    """Start over when the saved run was made from other inputs: ``identity`` (JSON-able: the task,
    the starting structure's and the model files' hashes) is compared with ``outdir/inputs.json``; when
    they differ, or a run exists that recorded none, its files are removed (a resumed run must continue
    the same trajectory, not splice a new model onto an old one). Then ``identity`` is saved."""
    if identity is None:
        return
    import json

    identity = json.loads(json.dumps(identity))
    path = outdir / INPUTS_JSON
    saved = json.loads(path.read_text()) if path.is_file() else None
    if saved == identity:
        return
    old = [outdir / f for f in (CHECKPOINT, EQUILIBRATION, PRODUCTION, RUN_JSON, HIGH_SPREAD_FRAMES, PROGRESS)]
    if any(f.exists() for f in old):
        changed = sorted(k for k in identity if saved is None or saved.get(k) != identity[k])
        log.warning("%s: the saved run was made from other inputs (changed: %s); starting it over", outdir,
                    ", ".join(changed) if saved is not None else "not recorded")
        for f in old:
            f.unlink(missing_ok=True)
    write_json_atomic(path, identity, indent=1)


def run_state_point(atoms, calculator, settings: MDSettings, outdir, state: StatePoint, monitors: list[Monitor] | None = None,
                    restart: bool = True, progress: bool = True, identity: dict | None = None) -> MDResult:
    """Run one state point. ``atoms`` is changed in place (its final state); ``calculator`` any ASE calculator.

    ``monitors``: default :func:`~ilforge.md.monitors.default_monitors` from ``settings.monitors``.
    ``progress``: report steps, ns/day, T, density and P (:class:`ilforge.progress.Progress`: a line
    on a terminal, ``outdir/progress.json``). The random seed is ``settings.seed`` (the md stage
    derives it from the recipe's seed; 0 when unset). Returns an :class:`MDResult`, also written to
    ``outdir/run.json``. ``identity``: the run's inputs (see :func:`_forget_changed_run`); a saved run
    made from other inputs is started over instead of resumed.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    _forget_changed_run(outdir, identity)
    state = _state_for(settings, state)
    segs = plan_segments(settings, state)
    total = sum(s.n_steps for s in segs)
    if restart and (prev := _finished(outdir, total)) is not None:
        return prev
    step0, ck, rng, mons = _prepare(atoms, calculator, settings, outdir, state, segs, monitors, restart)
    rep = Progress(total, f"md {outdir.parent.name}/{outdir.name}", "step", done=step0, status_path=outdir / PROGRESS) if progress else None
    writer, observers = _observers(atoms, settings, state, outdir, segs, rng, mons, rep, ck)
    t0 = time.perf_counter()
    try:
        step, problem = _run_segments(atoms, settings, segs, step0, ck, rng, observers, mons)
    finally:
        writer.close()
        if rep is not None:
            rep.close()
    wall = time.perf_counter() - t0
    result = MDResult(
        outdir=str(outdir), state=asdict(state), status=STOPPED if problem else COMPLETED, steps_done=step, steps_total=total,
        problem=str(problem) if problem else None, production=str(outdir / PRODUCTION), wall_s=wall,
        atom_steps_per_s=len(atoms) * (step - step0) / wall if wall > 0 else 0.0,
        monitors={m.name: m.summary() for m in mons}, settings=settings.model_dump(),
    )
    if settings.ensemble == "nve":
        result.nve_drift_eV_ps_atom = _nve_drift(outdir / PRODUCTION, len(atoms))
    result.save()
    if problem:
        log.warning("%s stopped: %s", outdir, problem)
    return result


def _nve_drift(production: Path, n_atoms: int) -> float | None:
    """:func:`energy_drift` of the production file's E_pot + E_kin (all frames, resumed or not)."""
    tr = read_h5md(production)
    if tr.n_frames < 2:
        return None
    return energy_drift(tr.time_ps, tr.observables["potential_energy"] + tr.observables["kinetic_energy"], n_atoms)


# ------------------------------------------------------------------------ several state points
def state_points(settings: MDSettings, temperatures_K=None, pressures_bar=None) -> list[StatePoint]:
    """All (T, P) combinations; P only for NPT."""
    Ts = temperatures_K or settings.temperatures_K
    if not Ts:
        raise IlforgeError("no temperatures: set md.temperatures_K (or the recipe's temperatures_K) or pass --temperature-K")
    Ps = (pressures_bar or settings.pressures_bar) if settings.ensemble == "npt" else [None]
    return [StatePoint(float(T), None if P is None else float(P)) for T in Ts for P in Ps]
