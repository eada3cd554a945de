"""The reference's own pressure on its own dynamics at a fixed density (issue 15)

The pre-flight check (``ilforge reference check``) evaluates a reference level on classical
snapshots; benchmarks/reference_on_mlip_md.py evaluates it on an MLIP's frames. Both use structures
the reference did not make. This removes the last model from the question: Langevin NVT MD *at the
reference level* (GFN1/GFN2-xTB through ilforge's labeler, ``reference.strategies.reference_md``'s
integrator) from a start frame, at that frame's volume, printing every ``--every`` steps the
molecular virial pressure (:func:`ilforge.reference.check.molecular_virial_pressure`: atomic virial
minus the intramolecular part plus N_mol k T / V, which is −dE/dV with molecules moved rigidly, plus
the molecules' kinetic term) and its running mean over the second half of the run. Mapped through
the experimental compressibility this is the reference's own density error at this box size:
ρ_ref/ρ ≈ 1 / (1 + κT ⟨P_mol⟩).

Each frame is appended to ``OUT/traj.extxyz`` with its momenta and labels: a rerun continues from
the last frame. The time step is 0.5 fs (X–H bonds free) and the friction 10/ps (a strong
thermostat, so the ~0.1 ps the structure needs to leave the classical one is not also spent
heating).

    python benchmarks/reference_nvt_pressure.py START.extxyz OUT [--method GFN2-xTB] [--steps 1200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import thermalize_momenta

from ilforge import units
from ilforge.reference.calculator import LabelerCalculator
from ilforge.reference.check import atomic_virial_pressure, molecular_virial_pressure
from ilforge.reference.xtb import XTBLabeler
from ilforge.sample.md import make_molecules_whole


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("start", type=Path, help="extxyz frame (the last frame of the file is used)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--method", default="GFN2-xTB")
    ap.add_argument("--temperature-K", type=float, default=298.15)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--timestep-fs", type=float, default=0.5)
    ap.add_argument("--friction-per-ps", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    traj = args.out / "traj.extxyz"
    T = args.temperature_K
    done = read(traj, ":") if traj.exists() else []
    if done:  # resume from the last saved frame, its momenta included
        atoms, step = done[-1].copy(), int(done[-1].info["step"])
    else:
        atoms, step = read(args.start, -1).copy(), 0
        thermalize_momenta(atoms, T, rng=np.random.default_rng(args.seed))
    atoms.calc = calc = LabelerCalculator(XTBLabeler(method=args.method))
    dyn = Langevin(atoms, args.timestep_fs * units.FS, temperature_K=T, friction=args.friction_per_ps / units.PS,
                   fixcm=False, rng=np.random.default_rng(args.seed + step))
    rho = units.density_g_cm3(float(atoms.get_masses().sum()), atoms.get_volume())
    print(f"{args.method} NVT at {rho:.4f} g/cm3, {len(atoms)} atoms, {T} K; "
          f"step, T (K), P atomic virial + N k T/V, P_mol (GPa), running mean P_mol over the 2nd half", flush=True)
    rows = []
    for fr in done:
        rows.append(_pressures(fr, fr.get_forces(), fr.get_stress(voigt=True), T))
        _print(int(fr.info["step"]), rows)
    while step < args.steps:
        dyn.run(args.every)
        step += args.every
        lab = calc.last_labels
        fr = atoms.copy()
        fr.info["step"] = step
        fr.calc = SinglePointCalculator(fr, energy=lab.energy, forces=np.asarray(lab.forces), stress=np.asarray(lab.stress))
        write(traj, fr, append=True)
        rows.append(_pressures(fr, lab.forces, lab.stress, T))
        _print(step, rows)


def _pressures(fr, forces, stress, temperature_K) -> tuple[float, float, float]:
    """(kinetic T in K, atomic virial pressure, molecular virial pressure in GPa) of one frame."""
    p_atomic = atomic_virial_pressure(fr, stress, temperature_K)
    p_mol = molecular_virial_pressure(make_molecules_whole(fr), np.asarray(forces), stress, temperature_K)
    return fr.get_temperature(), p_atomic / units.GPA, p_mol / units.GPA


def _print(step: int, rows) -> None:
    """The latest row and the running mean of P_mol over the second half of the rows so far."""
    half = np.asarray([r[2] for r in rows[len(rows) // 2:]])
    err = half.std(ddof=1) / np.sqrt(max(1, len(half) // 5)) if len(half) > 5 else float("nan")
    t, p_atomic, p_mol = rows[-1]
    print(f"{step:6d} {t:6.0f} {p_atomic:+8.3f} {p_mol:+8.3f}   mean(2nd half) {half.mean():+.3f}"
          f" (~± {err:.3f}, {len(half)} frames)", flush=True)


if __name__ == "__main__":
    main()
