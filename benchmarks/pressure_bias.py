"""Mean signed pressure error of a trained model on labelled frames, per config type (issue 15).

The NPT density of an MLIP follows its pressure: a mean error ⟨P_model − P_ref⟩ = ΔP shifts the
density by about −κT ΔP (κT ≈ 0.34 GPa⁻¹ for EMIM-BF4, so 0.1 GPa ≈ 3.4 %). Stress MAEs do not show
the sign or the mean; this prints, for each config type of the frames (classical_md, rattle,
volume_scan, reference_md, ...), the mean and spread of P_model − P_ref with P = −tr(σ)/3 (atomic
virial, GPa) and the mean energy error per atom (meV).

    python benchmarks/pressure_bias.py MODEL_DIR [FRAMES.extxyz ...]

Default frames: the model's own train/valid/test files (``models/<name>/{train,valid,test}.extxyz``).
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from ilforge import keys, units


def pressure_GPa(stress) -> float:
    """P = −tr(σ)/3 in GPa from a Voigt (6,) or (3, 3) stress in eV/Å³."""
    s = np.asarray(stress, float).reshape(-1)
    diag = s[:3] if s.size == 6 else s.reshape(3, 3).diagonal()
    return float(-diag.mean() / units.GPA)


def main(argv=None) -> None:
    from ase.io import read

    from ilforge.models.committee import Committee

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("frames", type=Path, nargs="*")
    args = ap.parse_args(argv)
    files = args.frames or [args.model / f"{p}.extxyz" for p in ("train", "valid", "test") if (args.model / f"{p}.extxyz").is_file()]
    frames = [a for f in files for a in read(f, ":") if keys.REF_STRESS in a.info and a.pbc.all()]
    committee = Committee.load(args.model)
    preds = committee.predict(frames)
    rows = collections.defaultdict(list)
    for a, p in zip(frames, preds):
        dp = pressure_GPa(p["stress"]) - pressure_GPa(a.info[keys.REF_STRESS])
        de = (p["energy"] - a.info[keys.REF_ENERGY]) / len(a) * 1000
        rows[a.info.get(keys.CONFIG_TYPE, "?")].append((dp, de))
    print(f"{'config type':16s} {'frames':>6s} {'<P_model - P_ref> GPa':>22s} {'sd':>6s} {'<dE> meV/atom':>14s}")
    for ct, r in sorted(rows.items()):
        r = np.asarray(r)
        print(f"{ct:16s} {len(r):6d} {r[:, 0].mean():+22.3f} {r[:, 0].std():6.3f} {r[:, 1].mean():+14.1f}")


if __name__ == "__main__":
    main()
