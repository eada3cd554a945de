"""Observers of an MD run: writer, monitors, checkpoints and progress, attached to ASE dynamics.

ASE's ``Dynamics.attach(fn, interval)`` calls ``fn`` every ``interval`` steps of the integrator's
step counter ``nsteps``, which the runner sets to the run's global step at the start of every
segment. An :class:`Observer` wraps that: :meth:`Observer.begin` attaches it to a segment's
integrator, :meth:`Observer.observe` does the work at a step, and :meth:`Observer.finish` runs it
once more at a segment's end when it asks for that step (``also_at``) and did not run there yet.
An observer acts at most once per step and never at the step a segment starts from (that state
belongs to the previous segment). A monitor that finds a problem raises :class:`StopRun`; the
runner catches it, so observers attached after it (the checkpoint) do not run at that step.

The instantaneous pressure written with every frame is :func:`instantaneous_pressure`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ilforge.md.checkpoint import integrator_state, write_checkpoint
from ilforge.md.monitors import Monitor, Problem
from ilforge.md.result import EQUILIBRATION, PRODUCTION
from ilforge.md.trajectory import H5MDWriter
from ilforge.units import BAR, FS_TO_PS

log = logging.getLogger(__name__)


def instantaneous_pressure(stress, kinetic_energy_eV: float, volume_A3: float) -> float:
    """P = −tr(σ)/3 + 2 E_kin / (3 V), in eV/Å³.

    ``stress``: the calculator's stress σ = (1/V) ∂E/∂ε (ASE sign: positive under tension), Voigt
    (6,) [xx yy zz yz xz xy] or (3, 3), eV/Å³. The first term is the virial part: for an isotropic
    strain it equals −∂E/∂V. The second is the kinetic (ideal-gas) part with the kinetic energy of
    the momenta (eV) and the volume V (Å³).
    """
    s = np.asarray(stress, dtype=float)
    trace = np.trace(s) if s.shape == (3, 3) else s[:3].sum()
    return float(-trace / 3.0 + 2.0 * kinetic_energy_eV / (3.0 * volume_A3))


def pressure_bar(atoms, kinetic_energy_eV: float) -> float:
    """:func:`instantaneous_pressure` of ``atoms`` in bar, from the stress its calculator already
    computed; NaN when there is none (no stress or not a 3D periodic cell)."""
    res = atoms.calc.results if atoms.calc is not None else {}
    if "stress" not in res or atoms.cell.rank != 3:
        return float("nan")
    return instantaneous_pressure(res["stress"], kinetic_energy_eV, atoms.get_volume()) / BAR


class StopRun(Exception):
    """Raised by an observer to stop the run; carries the monitor's :class:`~ilforge.md.monitors.Problem`."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class Observer:
    """Called every ``interval`` steps (and at the steps in ``also_at``); see the module docstring."""

    def __init__(self, interval: int, also_at=()):
        self.interval = int(interval)
        self.also_at = frozenset(int(s) for s in also_at)
        self.last = -1

    def begin(self, dyn, segment, step: int) -> None:
        """Attach to ``dyn``, which runs ``segment`` from ``step`` on."""
        self.last = step
        dyn.attach(self._call, interval=self.interval, dyn=dyn)

    def _call(self, dyn) -> None:
        step = int(dyn.nsteps)
        if step > self.last:
            self.last = step
            self.observe(step, dyn)

    def finish(self, dyn) -> None:
        """At a segment's end: observe if this step is one of ``also_at`` and not done yet."""
        step = int(dyn.nsteps)
        if step in self.also_at and step > self.last:
            self.last = step
            self.observe(step, dyn)

    def observe(self, step: int, dyn) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class FrameWriter(Observer):
    """Appends a frame to ``equilibration.h5`` or ``production.h5`` (by the segment's phase) every
    ``save_every_steps``: positions, cell, potential and kinetic energy (eV), temperature (K) and
    :func:`pressure_bar`. ``resume_frames``: the frame counts of a checkpoint ({phase: n}); the files
    are cut back to them and appended to (None: new files)."""

    def __init__(self, atoms, outdir: Path, settings, meta: dict, resume_frames: dict | None):
        super().__init__(settings.save_every_steps)
        self.atoms = atoms
        self.timestep_ps = settings.timestep_fs * FS_TO_PS
        mode = "a" if resume_frames is not None else "w"
        self.writers = {ph: H5MDWriter(Path(outdir) / name, atoms, settings.flush_every_frames, meta, mode=mode)
                        for ph, name in (("production", PRODUCTION), ("equilibration", EQUILIBRATION))}
        if resume_frames is not None:
            for ph, w in self.writers.items():
                w.truncate_to(int(resume_frames.get(ph, 0)))
        self.phase = "equilibration"

    def begin(self, dyn, segment, step: int) -> None:
        """Frames at the segment's start + k·``save_every_steps`` (not at multiples of it: a
        production that starts at step 7 saves 7, 9, 11, ... with an interval of 2, evenly spaced)."""
        self.last = step
        self.origin = int(segment.start)
        dyn.attach(self._call_from_origin, interval=1, dyn=dyn)
        self.phase = "production" if segment.phase == "production" else "equilibration"
        if segment.phase == "production" and step == segment.start:
            self.observe(step, dyn)  # the production's first frame: the state it starts from

    def _call_from_origin(self, dyn) -> None:
        if (int(dyn.nsteps) - self.origin) % self.interval == 0:
            self._call(dyn)

    def observe(self, step: int, dyn) -> None:
        atoms = self.atoms
        res = atoms.calc.results if atoms.calc is not None else {}
        epot = float(res["energy"]) if "energy" in res else float(atoms.get_potential_energy())
        ekin = float(atoms.get_kinetic_energy())
        self.writers[self.phase].append(step, step * self.timestep_ps, atoms.positions, atoms.cell.array, epot, ekin,
                                        atoms.get_temperature(), pressure_bar(atoms, ekin))

    def flush(self) -> dict:
        """Write every buffered frame; the frame count of each file ({phase: n})."""
        return {ph: (w.flush(), w.n_frames())[1] for ph, w in self.writers.items()}

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


class MonitorCheck(Observer):
    """Runs every monitor's ``check(step, atoms)`` every ``check_every_steps`` and at every segment
    end; the first :class:`~ilforge.md.monitors.Problem` stops the run (:class:`StopRun`)."""

    def __init__(self, atoms, monitors: list[Monitor], interval: int, segment_ends):
        super().__init__(interval, segment_ends)
        self.atoms, self.monitors = atoms, monitors

    def observe(self, step: int, dyn) -> None:
        for m in self.monitors:
            problem = m.check(step, self.atoms)
            if problem is not None:
                raise StopRun(problem)


class CheckpointWriter(Observer):
    """Every ``checkpoint_every_steps`` and at the last step: flushes the frame writer, then writes the
    checkpoint with the integrator state and the frame counts (:mod:`ilforge.md.checkpoint`), so a
    resumed run neither loses a buffered frame nor writes one twice."""

    def __init__(self, atoms, outdir: Path, rng, interval: int, total_steps: int, writer: FrameWriter):
        super().__init__(interval, (total_steps,))
        self.atoms, self.outdir, self.rng, self.writer = atoms, Path(outdir), rng, writer

    def observe(self, step: int, dyn) -> None:
        frames = self.writer.flush()
        write_checkpoint(self.atoms, step, self.outdir, integrator_state(dyn, self.rng), frames)


class ProgressReport(Observer):
    """Reports steps done to an :class:`ilforge.progress.Progress` with the speed in ns/day
    (steps/s x Δt) and the latest temperature (K), density (g/cm³) and pressure (bar)."""

    def __init__(self, progress, atoms, timestep_fs: float, interval: int, segment_ends):
        super().__init__(interval, segment_ends)
        self.progress, self.atoms, self.timestep_fs = progress, atoms, float(timestep_fs)

    def observe(self, step: int, dyn) -> None:
        from ilforge.units import FS_TO_NS, S_PER_DAY, density_g_cm3

        a = self.atoms
        latest = {"ns_per_day": self.progress.rate_per_s * self.timestep_fs * FS_TO_NS * S_PER_DAY,
                  "T_K": float(a.get_temperature())}
        if a.cell.rank == 3:
            latest["rho_g_cm3"] = density_g_cm3(float(a.get_masses().sum()), a.get_volume())
            latest["P_bar"] = pressure_bar(a, float(a.get_kinetic_energy()))
        self.progress.set(step, **latest)
