"""Classical MD with OpenMM: minimisation, NPT equilibration, NVT or NPT production, snapshots.

Per composition and temperature the sampler (i) minimises the packed box (L-BFGS,
``LocalEnergyMinimizer``), (ii) equilibrates at constant N, p, T (Langevin middle integrator,
Zhang et al. J. Chem. Phys. 151 (2019) 044101, plus a Monte Carlo barostat with isotropic moves
every 25 steps), (iii) runs production (NVT at the last equilibrated volume, or NPT) and saves a
snapshot every ``interval_ps``. Snapshots keep molecules whole: OpenMM's positions are continuous
in time (not wrapped), so each molecule is whole; its centre is then translated into the cell.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from ilforge import keys, units
from ilforge.errors import IlforgeError, require
from ilforge.forcefields.openmm_system import SystemInfo, box_vectors_nm, positions_nm
from ilforge.units import A_TO_NM

log = logging.getLogger(__name__)

BAROSTAT_INTERVAL_STEPS = 25


def choose_platform(name: str | None = None):
    """OpenMM platform by name; default CUDA when present, else CPU."""
    mm = require("openmm", "classical")
    names = [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())]
    if name is None:
        name = "CUDA" if "CUDA" in names else "CPU"
    if name not in names:
        raise IlforgeError(f"OpenMM platform {name!r} is not available here; available: {names}")
    return mm.Platform.getPlatformByName(name)


@dataclass
class MDRunResult:
    """What a sampling run produced: snapshots, density trace, timing."""

    frames: list[Atoms] = field(default_factory=list)
    times_ps: list[float] = field(default_factory=list)  # of the density trace, from the start of equilibration
    densities_g_cm3: list[float] = field(default_factory=list)
    potential_energies_eV: list[float] = field(default_factory=list)
    production_start_ps: float = 0.0
    ns_per_day: float = 0.0  # production throughput, including snapshot handling
    wall_s: float = 0.0

    def mean_density(self, after_ps: float | None = None) -> float:
        """Mean density (g/cm³) over the trace points at or after ``after_ps`` (default: production)."""
        t0 = self.production_start_ps if after_ps is None else after_ps
        d = [d for t, d in zip(self.times_ps, self.densities_g_cm3) if t >= t0 - 1e-9]
        if not d:
            raise IlforgeError("no density points in the requested window")
        return float(np.mean(d))


def whole_molecules(pos_A: np.ndarray, cell_A: np.ndarray, molecules) -> np.ndarray:
    """Translate each molecule (already whole) by a lattice vector so that its centroid lies in the cell."""
    out = pos_A.copy()
    inv = np.linalg.inv(cell_A)
    for _, idx in molecules:
        c = out[idx].mean(axis=0)
        shift = np.floor(c @ inv) @ cell_A
        out[idx] -= shift
    return out


def make_molecules_whole(atoms: Atoms) -> Atoms:
    """Copy of ``atoms`` with each molecule (mol_id) made whole by following its bonds, and its
    centroid put inside the cell.

    Bonds come from covalent radii under the minimum image; a breadth-first traversal from the
    molecule's first atom places each neighbour at its bonded atom plus the minimum-image bond
    vector (:func:`ilforge.chem.geometry.unwrap_molecule`). Valid for any cell at least twice as
    wide as the longest bond, also when a molecule is wider than half the cell (EMIM in an 8 Å box).
    """
    from ilforge.chem.geometry import unwrap_molecule
    from ilforge.forcefields.openmm_system import molecules_of

    out = atoms.copy()
    pos = out.positions.copy()
    cell = np.asarray(out.cell[:])
    mols = molecules_of(out)
    for _, idx in mols:
        pos[idx] = unwrap_molecule(out.numbers[idx], pos[idx], cell, pbc=out.pbc)
    out.positions = whole_molecules(pos, cell, mols)
    return out


def frame_from_state(state, template_atoms: Atoms, info: SystemInfo) -> Atoms:
    """ase.Atoms (Å) from an OpenMM State with molecules whole and per-atom ff arrays."""
    pos = np.asarray(state.getPositions(asNumpy=True)._value) / A_TO_NM
    cell = np.asarray(state.getPeriodicBoxVectors(asNumpy=True)._value) / A_TO_NM
    pos = whole_molecules(pos, cell, info.molecules)
    at = Atoms(template_atoms.numbers, positions=pos, cell=cell, pbc=True)
    at.arrays[keys.MOL_ID] = np.asarray(template_atoms.arrays[keys.MOL_ID]).copy()
    at.arrays[keys.MOL_SPECIES] = np.asarray(template_atoms.arrays[keys.MOL_SPECIES]).copy()
    at.arrays[keys.FF_TYPE] = np.array(info.types)
    at.arrays[keys.FF_CHARGE] = np.asarray(info.charges_e, dtype=float)
    return at


@dataclass
class _Run:
    """A running simulation (internal to :func:`run_classical_md`): context, integrator, the result being
    filled, the total mass (amu) for densities, the timestep (ps) and the report interval (steps)."""

    ctx: object
    integ: object
    res: MDRunResult
    total_mass: float
    dt_ps: float
    n_rep: int
    progress: Callable[[MDRunResult], None] | None

    def record(self, t_ps: float) -> None:
        """Append time (ps), density ρ = m / V (g/cm³) and potential energy (kJ/mol -> eV) to the trace."""
        st = self.ctx.getState(getEnergy=True)
        vol_A3 = st.getPeriodicBoxVolume()._value / A_TO_NM**3
        self.res.times_ps.append(t_ps)
        self.res.densities_g_cm3.append(units.density_g_cm3(self.total_mass, vol_A3))
        self.res.potential_energies_eV.append(st.getPotentialEnergy()._value * units.KJ_MOL)


def _make_context(atoms: Atoms, system, temperature_K, pressure_bar, friction_per_ps, dt_ps, seed, platform):
    """Add a Monte Carlo barostat (isotropic, every BAROSTAT_INTERVAL_STEPS) to ``system`` and build a
    Context with a Langevin middle integrator at the box's cell and positions (Å -> nm).

    Returns ``(ctx, integ, barostat)``; both random streams are seeded with ``seed mod 2^31 + 1``.
    """
    mm = require("openmm", "classical")
    ommunit = require("openmm.unit", "classical")
    barostat = mm.MonteCarloBarostat(pressure_bar * ommunit.bar, temperature_K * ommunit.kelvin, BAROSTAT_INTERVAL_STEPS)
    barostat.setRandomNumberSeed(int(seed) % 2**31 + 1)
    system.addForce(barostat)
    integ = mm.LangevinMiddleIntegrator(temperature_K, friction_per_ps, dt_ps)
    integ.setRandomNumberSeed(int(seed) % 2**31 + 1)
    plat = choose_platform(platform)
    ctx = mm.Context(system, integ, plat)
    ctx.setPeriodicBoxVectors(*box_vectors_nm(atoms.cell[:]))
    ctx.setPositions(positions_nm(atoms))
    return ctx, integ, barostat


def _equilibrate(run: _Run, n_eq: int) -> float:
    """``n_eq`` steps in chunks of the report interval, recording after each; returns the end time (ps)."""
    t = 0.0
    done = 0
    while done < n_eq:
        k = min(run.n_rep, n_eq - done)
        run.integ.step(k)
        done += k
        t = done * run.dt_ps
        run.record(t)
        if run.progress:
            run.progress(run.res)
    return t


def _barostat(ctx, barostat, on: bool) -> None:
    """Switch the Monte Carlo barostat on (every BAROSTAT_INTERVAL_STEPS) or off (NVT)."""
    freq = BAROSTAT_INTERVAL_STEPS if on else 0
    if barostat.getFrequency() != freq:
        barostat.setFrequency(freq)
        ctx.reinitialize(preserveState=True)


def _snapshot(run: _Run, atoms: Atoms, info: SystemInfo, temperature_K: float, t: float) -> Atoms:
    """The current state as a frame (molecules whole) tagged with temperature, force field and time (ps)."""
    st = run.ctx.getState(getPositions=True, enforcePeriodicBox=False)
    fr = frame_from_state(st, atoms, info)
    fr.info[keys.TEMPERATURE_K] = float(temperature_K)
    fr.info[keys.FORCEFIELD] = info.forcefield
    fr.info["time_ps"] = float(t)
    return fr


def _produce(run: _Run, n_prod: int, n_int: int, atoms: Atoms, info: SystemInfo, temperature_K: float, on_frame) -> None:
    """``n_prod`` production steps in chunks ending at every report point and every snapshot point
    (every ``n_int`` steps); snapshots go to ``run.res.frames`` and ``on_frame``."""
    res = run.res
    done = 0
    while done < n_prod:
        next_rep = (done // run.n_rep + 1) * run.n_rep
        next_int = (done // n_int + 1) * n_int
        k = min(next_rep, next_int, n_prod) - done
        run.integ.step(k)
        done += k
        t = res.production_start_ps + done * run.dt_ps
        if done % run.n_rep == 0 or done == n_prod:
            run.record(t)
        if done % n_int == 0:
            fr = _snapshot(run, atoms, info, temperature_K, t)
            res.frames.append(fr)
            if on_frame is not None:
                on_frame(fr)
        if run.progress:
            run.progress(res)


def run_classical_md(
    atoms: Atoms,
    system,
    info: SystemInfo,
    temperature_K: float,
    pressure_bar: float = 1.0,
    timestep_fs: float = 1.0,
    friction_per_ps: float = 1.0,
    equilibration_ps: float = 100.0,
    production_ps: float = 200.0,
    ensemble: str = "npt",
    interval_ps: float = 10.0,
    equilibration_ensemble: str = "npt",
    report_interval_ps: float = 1.0,
    seed: int = 0,
    platform: str | None = None,
    minimize: bool = True,
    on_frame: Callable[[Atoms], None] | None = None,
    progress: Callable[[MDRunResult], None] | None = None,
) -> MDRunResult:
    """Minimise, equilibrate (NPT, or NVT with ``equilibration_ensemble="nvt"``) and run production
    (``ensemble``); return snapshots and the density trace.

    ``system`` must not yet contain a barostat (one is added here). Snapshots (every ``interval_ps``
    of production) are passed to ``on_frame`` as they come and kept in the result; their info holds
    temperature_K and the force-field name (the caller adds composition_id etc.). ``progress`` is
    called with the (partial) result after each chunk. Densities are sampled every
    ``report_interval_ps``.
    """
    mm = require("openmm", "classical")
    if ensemble not in ("nvt", "npt") or equilibration_ensemble not in ("nvt", "npt"):
        raise IlforgeError(f"ensemble and equilibration_ensemble must be nvt or npt, got {ensemble!r}, {equilibration_ensemble!r}")
    dt_ps = timestep_fs * 1e-3
    ctx, integ, barostat = _make_context(atoms, system, temperature_K, pressure_bar, friction_per_ps, dt_ps, seed, platform)
    total_mass = float(np.sum([system.getParticleMass(i)._value for i in range(system.getNumParticles())]))
    res = MDRunResult()
    t_start = time.perf_counter()
    if minimize:
        mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 2000)
    ctx.setVelocitiesToTemperature(temperature_K, int(seed) % 2**31 + 1)
    n_rep = max(1, int(round(report_interval_ps / dt_ps)))
    run = _Run(ctx, integ, res, total_mass, dt_ps, n_rep, progress)
    _barostat(ctx, barostat, equilibration_ensemble == "npt")
    res.production_start_ps = _equilibrate(run, int(round(equilibration_ps / dt_ps)))
    _barostat(ctx, barostat, ensemble == "npt")
    n_int = max(1, int(round(interval_ps / dt_ps)))
    n_prod = int(round(production_ps / dt_ps))
    t_prod0 = time.perf_counter()
    _produce(run, n_prod, n_int, atoms, info, temperature_K, on_frame)
    wall_prod = time.perf_counter() - t_prod0
    res.wall_s = time.perf_counter() - t_start
    if n_prod > 0 and wall_prod > 0:
        res.ns_per_day = production_ps * 1e-3 / (wall_prod / 86400.0)
    system.removeForce(system.getNumForces() - 1)  # leave the System as it came
    return res
