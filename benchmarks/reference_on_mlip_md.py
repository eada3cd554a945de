"""Does the model's pressure agree with its reference on the model's own MD frames? (issue 15)

A model can match its reference on the frames it was trained on (benchmarks/pressure_bias.py) and
still drift in NPT, when its MD visits structures unlike them. This runs NVT MLIP MD (Nosé–Hoover
chain, 0.5 fs, at the start structure's volume) and, every ``--every`` steps, labels the current
frame with the reference (GFN1/GFN2-xTB through ilforge's labeler) and prints both virial pressures
P = −tr(σ)/3 (GPa; the kinetic term N k T / V is the same for both and left out), and both molecular
virial pressures (:func:`ilforge.reference.check.molecular_virial_pressure`: the atomic virial minus the
intramolecular part, plus N_mol k T / V). The atomic virial of the reference on the model's frames is
dominated by bond lengths: a 0.01 Å bias in the model's C–H bonds shifts it by ~0.8 GPa at 96 atoms,
while the molecular one measures the intermolecular forces that set the density.

    python benchmarks/reference_on_mlip_md.py MODEL_DIR START.extxyz [--method GFN2-xTB] [--frames 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ilforge import units


def main(argv=None) -> None:
    from ase import units as ase_units
    from ase.io import read
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from ilforge.models.committee import Committee
    from ilforge.reference.check import molecular_virial_pressure
    from ilforge.sample.md import make_molecules_whole
    from ilforge.reference.xtb import XTBLabeler

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("start", type=Path)
    ap.add_argument("--method", default="GFN2-xTB")
    ap.add_argument("--temperature-K", type=float, default=298.15)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--every", type=int, default=250, help="MD steps between labelled frames")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    atoms = read(args.start)
    atoms.calc = Committee.load(args.model).calculator_factory(dtype=args.dtype)()
    MaxwellBoltzmannDistribution(atoms, temperature_K=args.temperature_K, rng=np.random.default_rng(args.seed))
    dyn = NoseHooverChainNVT(atoms, 0.5 * ase_units.fs, temperature_K=args.temperature_K, tdamp=50 * ase_units.fs)
    labeler = XTBLabeler(method=args.method)
    rows = []
    print(f"{'step':>6s} {'P_model':>8s} {'P_ref':>8s}  GPa (atomic virial)  {'Pmol_model':>10s} {'Pmol_ref':>9s}  {args.method}")
    for k in range(args.frames):
        dyn.run(args.every)
        whole = make_molecules_whole(atoms)
        f_model, s_model = atoms.get_forces(), atoms.get_stress(voigt=True)
        ref = labeler.label(whole.copy())
        p_model = float(-s_model[:3].mean() / units.GPA)
        p_ref = float(-np.asarray(ref.stress)[:3].mean() / units.GPA)
        pm_model = molecular_virial_pressure(whole, f_model, s_model, args.temperature_K) / units.GPA
        pm_ref = molecular_virial_pressure(whole, np.asarray(ref.forces), ref.stress, args.temperature_K) / units.GPA
        rows.append((p_model, p_ref, pm_model, pm_ref))
        print(f"{(k + 1) * args.every:6d} {p_model:+8.3f} {p_ref:+8.3f}  {'':19s} {pm_model:+10.3f} {pm_ref:+9.3f}"
              f"   T {atoms.get_temperature():.0f} K, rho {whole.get_masses().sum() / whole.get_volume() * 1.66054:.3f} g/cm3",
              flush=True)
    r = np.asarray(rows)
    print(f"mean   {r[:, 0].mean():+8.3f} {r[:, 1].mean():+8.3f}  {'':19s} {r[:, 2].mean():+10.3f} {r[:, 3].mean():+9.3f}   "
          f"difference atomic {np.mean(r[:, 0] - r[:, 1]):+.3f}, molecular {np.mean(r[:, 2] - r[:, 3]):+.3f} GPa")


if __name__ == "__main__":
    main()
