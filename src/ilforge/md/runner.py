"""The MD runner: equilibration then production at one state point, with monitors, H5MD output and restarts.

Integrators (ASE 3.29): NVT with ``Langevin`` or ``NoseHooverChainNVT`` (Martyna, Klein,
Tuckerman, J. Chem. Phys. 97, 2635 (1992)); NPT with ``IsotropicMTKNPT`` (Martyna, Tobias,
Klein, J. Chem. Phys. 101, 4177 (1994)): isotropic cell fluctuations with Nose-Hoover chains on
particles and barostat; NVE with velocity Verlet. Steps: an optional schedule of temperature /
pressure stages, the equilibration at the state point, then production. Frames every
``save_every_steps`` go to ``equilibration.h5`` / ``production.h5``; monitors run every
``monitors.check_every_steps``; a checkpoint (extxyz with momenta) every
``checkpoint_every_steps``. Running the same call again resumes from the last checkpoint or
returns at once when the run was done. The checkpoint also holds the integrator's internal state
(Nose-Hoover chain positions and momenta, the MTK barostat's volume momentum and chain, the Langevin
random stream; :func:`integrator_state`), so a resumed run continues the interrupted one exactly.

Several state points: :func:`run_state_points` runs :func:`run_state_point_task` (a picklable
top-level function) for each, inline or in a local process pool.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ilforge.errors import IlforgeError
from ilforge.md.monitors import Monitor, Problem, TemperatureMonitor, default_monitors, energy_drift
from ilforge.md.settings import MDSettings
from ilforge.md.trajectory import H5MDWriter
from ilforge.units import BAR, FS, PS

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.extxyz"
RUN_JSON = "run.json"
PRODUCTION = "production.h5"
EQUILIBRATION = "equilibration.h5"


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
class MDResult:
    """Outcome of one state point: ``status`` is ``completed`` or ``stopped`` (then ``problem`` says why)."""

    outdir: str
    state: dict
    status: str
    steps_done: int
    steps_total: int
    problem: str | None = None
    production: str | None = None
    wall_s: float = 0.0
    atom_steps_per_s: float = 0.0
    monitors: dict = field(default_factory=dict)
    nve_drift_eV_ps_atom: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


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


def integrator_state(dyn, rng) -> dict:
    """The variables beyond positions, momenta and cell that the integrator carries from step to step.

    Nose-Hoover chains (``NoseHooverChainNVT``, and the particle thermostat of ``IsotropicMTKNPT``):
    chain positions η and momenta p_η; the MTK barostat: its volume momentum p_ε and the chain ξ, p_ξ
    on it (the volume itself is the checkpoint's cell: a new integrator starts at ε = 0 there); the
    random stream ``rng`` of Langevin. JSON-serialisable.
    """
    st: dict = {"rng": rng.bit_generator.state}
    th = getattr(dyn, "_thermostat", None)
    if th is not None:
        st["eta"], st["p_eta"] = th._eta.tolist(), th._p_eta.tolist()
    ba = getattr(dyn, "_barostat", None)
    if ba is not None:
        st["xi"], st["p_xi"] = ba._xi.tolist(), ba._p_xi.tolist()
        st["p_eps"] = float(dyn._p_eps)
    return st


def restore_integrator_state(dyn, rng, st: dict) -> None:
    """Put back what :func:`integrator_state` saved (on a new integrator at the checkpoint's cell)."""
    rng.bit_generator.state = st["rng"]
    th = getattr(dyn, "_thermostat", None)
    if th is not None and "eta" in st:
        th._eta[:], th._p_eta[:] = st["eta"], st["p_eta"]
    ba = getattr(dyn, "_barostat", None)
    if ba is not None and "xi" in st:
        ba._xi[:], ba._p_xi[:] = st["xi"], st["p_xi"]
        dyn._p_eps = st["p_eps"]


def _write_checkpoint(atoms, step: int, outdir: Path, state: dict | None = None) -> None:
    from ase.io import write

    a = atoms.copy()
    a.calc = None
    a.info["md_step"] = int(step)
    if state is not None:
        a.info["integrator_state"] = json.dumps(state)
    tmp = outdir / (CHECKPOINT + ".tmp")
    write(tmp, a, format="extxyz")
    os.replace(tmp, outdir / CHECKPOINT)


def _read_checkpoint(outdir: Path):
    from ase.io import read

    a = read(outdir / CHECKPOINT, format="extxyz")
    st = a.info.get("integrator_state")
    return a, int(a.info["md_step"]), (json.loads(st) if isinstance(st, str) else None)


def run_md(atoms, calculator, settings: MDSettings, outdir, state: StatePoint, monitors: list[Monitor] | None = None,
           restart: bool = True, progress=None) -> MDResult:
    """Run one state point. ``atoms`` is changed in place (its final state); ``calculator`` any ASE calculator.

    ``monitors``: default :func:`~ilforge.md.monitors.default_monitors` from ``settings.monitors``.
    ``progress``: optional callable(steps_done, steps_total). Returns an :class:`MDResult`, also
    written to ``outdir/run.json``.
    """
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if settings.ensemble == "npt" and state.pressure_bar is None:
        state = StatePoint(state.temperature_K, settings.pressures_bar[0])
    if settings.ensemble != "npt" and state.pressure_bar is not None:
        state = StatePoint(state.temperature_K, None)
    segs = plan_segments(settings, state)
    total = sum(s.n_steps for s in segs)
    run_json = outdir / RUN_JSON
    if restart and run_json.is_file():
        prev = json.loads(run_json.read_text())
        if prev.get("status") == "completed" and prev.get("steps_total") == total:
            log.info("%s: already completed; nothing to do", outdir)
            return MDResult(**{k: prev[k] for k in MDResult.__dataclass_fields__ if k in prev})
    atoms.calc = calculator
    step = 0
    resumed = False
    saved_state = None
    if restart and (outdir / CHECKPOINT).is_file():
        ck, step, saved_state = _read_checkpoint(outdir)
        if len(ck) != len(atoms) or not np.array_equal(ck.numbers, atoms.numbers):
            raise IlforgeError(f"{outdir / CHECKPOINT} belongs to another system; use a new output directory or delete it")
        atoms.set_cell(ck.cell, scale_atoms=False)
        atoms.positions = ck.positions
        atoms.set_momenta(ck.get_momenta())
        resumed = True
        log.info("%s: resuming from step %d", outdir, step)
    else:
        rng0 = np.random.default_rng(settings.seed)
        thermalize_momenta(atoms, temperature_K=segs[0].temperature_K if segs else state.temperature_K, rng=rng0)
        Stationary(atoms)
    rng = np.random.default_rng([settings.seed, step])
    meta = {"temperature_K": state.temperature_K, "pressure_bar": state.pressure_bar, "ensemble": settings.ensemble,
            "timestep_fs": settings.timestep_fs, "save_every_steps": settings.save_every_steps}
    writers = {
        "production": H5MDWriter(outdir / PRODUCTION, atoms, settings.flush_every_frames, meta, mode="a" if resumed else "w"),
        "equilibration": H5MDWriter(outdir / EQUILIBRATION, atoms, settings.flush_every_frames, meta, mode="a" if resumed else "w"),
    }
    if resumed:
        for w in writers.values():
            w.truncate_after(step)
    mons = monitors if monitors is not None else default_monitors(settings.monitors, atoms, state.temperature_K, outdir)
    mon = settings.monitors
    problem: Problem | None = None
    energies: list[tuple[float, float]] = []
    n_atoms = len(atoms)
    t0 = time.perf_counter()
    steps_run = 0
    try:
        for seg in segs:
            end = seg.start + seg.n_steps
            if step >= end:
                continue
            for m in mons:
                if isinstance(m, TemperatureMonitor) and settings.ensemble != "nve":
                    m.target_K = seg.temperature_K
            writer = writers["production" if seg.phase == "production" else "equilibration"]
            dyn = make_integrator(atoms, settings, seg.temperature_K, seg.pressure_bar, rng)
            if saved_state is not None and seg.start < step:  # resuming inside this segment
                restore_integrator_state(dyn, rng, saved_state)
            saved_state = None
            if seg.phase == "production" and step == seg.start:
                _save(writer, atoms, step, settings, energies, seg.phase)
            while step < end and problem is None:
                nxt = min(end, _next(step, settings.save_every_steps), _next(step, mon.check_every_steps),
                          _next(step, settings.checkpoint_every_steps))
                dyn.run(nxt - step)
                steps_run += nxt - step
                step = nxt
                if step % settings.save_every_steps == 0:
                    _save(writer, atoms, step, settings, energies, seg.phase)
                if step % mon.check_every_steps == 0 or step == end:
                    for m in mons:
                        problem = m.check(step, atoms)
                        if problem is not None:
                            break
                if problem is None and (step % settings.checkpoint_every_steps == 0 or step == total):
                    _write_checkpoint(atoms, step, outdir, integrator_state(dyn, rng))
                if progress is not None:
                    progress(step, total)
            if problem is not None:
                break
    finally:
        for w in writers.values():
            w.close()
    wall = time.perf_counter() - t0
    result = MDResult(
        outdir=str(outdir), state=asdict(state), status="stopped" if problem else "completed", steps_done=step, steps_total=total,
        problem=str(problem) if problem else None, production=str(outdir / PRODUCTION), wall_s=wall,
        atom_steps_per_s=n_atoms * steps_run / wall if wall > 0 else 0.0,
        monitors={m.name: m.summary() for m in mons},
    )
    if settings.ensemble == "nve" and len(energies) >= 2:
        t, e = np.array(energies).T
        result.nve_drift_eV_ps_atom = energy_drift(t, e, n_atoms)
    doc = result.to_dict()
    doc["settings"] = settings.model_dump()
    run_json.write_text(json.dumps(doc, indent=1, default=float))
    if problem:
        log.warning("%s stopped: %s", outdir, problem)
    return result


def _next(step: int, every: int) -> int:
    return (step // every + 1) * every


def _save(writer: H5MDWriter, atoms, step: int, settings: MDSettings, energies: list, phase: str) -> None:
    res = atoms.calc.results if atoms.calc is not None else {}
    epot = float(res["energy"]) if "energy" in res else float(atoms.get_potential_energy())
    ekin = float(atoms.get_kinetic_energy())
    t_ps = step * settings.timestep_fs / 1000.0
    pressure = np.nan
    if "stress" in res and atoms.cell.rank == 3:
        # P = -tr(σ)/3 + 2 E_kin / (3 V): virial part from the calculator, kinetic part from the momenta
        pressure = (-np.asarray(res["stress"])[:3].sum() / 3.0 + 2.0 * ekin / (3.0 * atoms.get_volume())) / BAR
    writer.append(step, t_ps, atoms.positions, atoms.cell.array, epot, ekin, atoms.get_temperature(), pressure)
    if phase == "production":
        energies.append((t_ps, epot + ekin))


# ------------------------------------------------------------------------ several state points
def state_points(settings: MDSettings, temperatures_K=None, pressures_bar=None) -> list[StatePoint]:
    """All (T, P) combinations; P only for NPT."""
    Ts = temperatures_K or settings.temperatures_K
    if not Ts:
        raise IlforgeError("no temperatures: set md.temperatures_K (or the recipe's temperatures_K) or pass --temperature-K")
    Ps = (pressures_bar or settings.pressures_bar) if settings.ensemble == "npt" else [None]
    return [StatePoint(float(T), None if P is None else float(P)) for T in Ts for P in Ps]


def run_state_point_task(task: dict) -> dict:
    """Picklable task for a process pool or an execution engine: builds atoms and calculator, runs, returns the result dict.

    task keys: ``box`` (structure file path), ``calculator`` (a picklable zero-argument callable
    returning an ASE calculator, e.g. :class:`~ilforge.md.calculators.CalculatorSpec`),
    ``settings`` (dict), ``outdir``, ``temperature_K``, ``pressure_bar``, ``restart``.
    """
    from ase.io import read

    atoms = read(task["box"])
    settings = MDSettings.model_validate(task["settings"])
    state = StatePoint(task["temperature_K"], task.get("pressure_bar"))
    res = run_md(atoms, task["calculator"](), settings, task["outdir"], state, restart=task.get("restart", True))
    return res.to_dict()


def run_state_points(box, calculator_factory, settings: MDSettings, outdir, points: list[StatePoint], workers: int = 1,
                     restart: bool = True, on_done=None) -> list[dict]:
    """Run every state point in ``outdir/<label>``; ``workers > 1`` uses a local process pool (spawned).

    ``on_done(result_dict)`` is called as each finishes. Returns result dicts in the order of ``points``.
    """
    outdir = Path(outdir)
    tasks = [{"box": str(box), "calculator": calculator_factory, "settings": settings.model_dump(), "outdir": str(outdir / p.label),
              "temperature_K": p.temperature_K, "pressure_bar": p.pressure_bar, "restart": restart} for p in points]
    results: list[dict | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) == 1:
        for i, t in enumerate(tasks):
            results[i] = run_state_point_task(t)
            if on_done:
                on_done(results[i])
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futs = {pool.submit(run_state_point_task, t): i for i, t in enumerate(tasks)}
            for fut in as_completed(futs):
                results[futs[fut]] = fut.result()
                if on_done:
                    on_done(results[futs[fut]])
    return results  # type: ignore[return-value]
