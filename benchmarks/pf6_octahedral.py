"""PF6⁻ stays octahedral: a 100-ps CL&P NPT run of LiPF6 in EMIM-PF6 with a geometry monitor.

Composition: examples/li_emim_pf6.yaml at x = x(LiPF6) (default 0.4, one of its training
compositions), ``--pairs`` formula units (the example's 20), 353.15 K, 1 bar. Force-field settings
default to the example's (``forcefield: {type: clandp, charge_scale: 0.8, cutoff_A: 5.5,
ewald_tolerance: 5e-4}``, no constraints, 1 fs: the sampler's defaults); ``--standard`` switches
to the standard ones (full charges, 12 Å, 1e-5, X–H constraints, 2 fs; needs ``--pairs`` >= ~64).

Every ``--sample-ps`` the positions (unwrapped, so molecules are whole) are read and for each PF6⁻
the six P–F bond lengths, the 15 F–F distances and the 15 F–P–F angles are recorded. An ideal
octahedron has 12 cis angles at 90° (F–F = √2 r_PF ≈ 2.3 Å) and 3 trans angles at 180°
(F–F = 2 r_PF); the collapsed PF6⁻ of the old 15-angle force field had F–F down to 1.41 Å.
A PF6⁻ counts as octahedral in a frame when its 3 largest angles are > 150° and its other 12 lie
within 90 ± 30°. Usage (a few minutes on 2 CPU threads)::

    OPENMM_CPU_THREADS=2 PYTHONPATH=src python benchmarks/pf6_octahedral.py --out /tmp/pf6.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _box import default_clandp, packmol_box  # noqa: E402

from ilforge import units  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.forcefields.openmm_system import box_vectors_nm, build_system, positions_nm  # noqa: E402
from ilforge.jsonio import write_json_atomic  # noqa: E402
from ilforge.units import A_TO_NM  # noqa: E402

EXAMPLE = {"charge_scale": 0.8, "cutoff_A": 5.5, "ewald_tolerance": 5e-4, "constraints": "none", "timestep_fs": 1.0}
STANDARD = {"charge_scale": 1.0, "cutoff_A": 12.0, "ewald_tolerance": 1e-5, "constraints": "hbonds", "timestep_fs": 2.0}
CIS_WINDOW_DEG = (60.0, 120.0)
TRANS_MIN_DEG = 150.0


def pf6_geometry(pos_A: np.ndarray, symbols: list[str], pf6_mols: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Per PF6⁻ of one frame: P–F lengths (n, 6) Å, F–F distances (n, 15) Å, F–P–F angles (n, 15) deg
    (sorted ascending per ion). Positions must keep each molecule whole (no minimum image here)."""
    iu = np.triu_indices(6, 1)
    rpf, rff, ang = [], [], []
    for idx in pf6_mols:
        p = [i for i in idx if symbols[i] == "P"][0]
        f = [i for i in idx if symbols[i] == "F"]
        v = pos_A[f] - pos_A[p]  # (6, 3)
        d = np.linalg.norm(v, axis=1)
        cos = (v @ v.T) / np.outer(d, d)
        rpf.append(d)
        rff.append(np.linalg.norm(v[:, None, :] - v[None, :, :], axis=2)[iu])
        ang.append(np.sort(np.degrees(np.arccos(np.clip(cos[iu], -1, 1)))))
    return {"r_PF": np.array(rpf), "r_FF": np.array(rff), "angle_FPF": np.array(ang)}


def octahedral(angles_sorted: np.ndarray) -> np.ndarray:
    """(n,) bool: 3 largest angles > TRANS_MIN_DEG and the other 12 inside CIS_WINDOW_DEG."""
    cis, trans = angles_sorted[:, :12], angles_sorted[:, 12:]
    lo, hi = CIS_WINDOW_DEG
    return (trans > TRANS_MIN_DEG).all(axis=1) & ((cis > lo) & (cis < hi)).all(axis=1)


def summarize(frames: list[dict]) -> dict:
    """Run-wide statistics of the per-frame PF6⁻ geometries (see the module docstring)."""
    rff = np.array([g["r_FF"] for g in frames])  # (n_frames, n_pf6, 15)
    ang = np.array([g["angle_FPF"] for g in frames])
    rpf = np.array([g["r_PF"] for g in frames])
    flat = ang.ravel()
    ok = np.array([octahedral(a) for a in ang])  # (n_frames, n_pf6)
    return {
        "n_frames": len(frames),
        "n_pf6": int(ang.shape[1]),
        "min_FF_A": float(rff.min()),
        "min_FF_per_ion_A": rff.min(axis=(0, 2)).round(3).tolist(),
        "min_FF_per_frame_A": rff.min(axis=(1, 2)).round(3).tolist(),
        "mean_cis_FF_A": float(np.sort(rff, axis=2)[:, :, :12].mean()),
        "mean_trans_FF_A": float(np.sort(rff, axis=2)[:, :, 12:].mean()),
        "r_PF_min_max_A": [float(rpf.min()), float(rpf.max())],
        "angle_min_deg": float(flat.min()),
        "angle_max_deg": float(flat.max()),
        "fraction_near_90": float(np.mean(np.abs(flat - 90) < 30)),
        "fraction_near_180": float(np.mean(flat > TRANS_MIN_DEG)),
        "fraction_other": float(np.mean((np.abs(flat - 90) >= 30) & (flat <= TRANS_MIN_DEG))),
        "cis_angle_mean_sd_deg": [float(ang[:, :, :12].mean()), float(ang[:, :, :12].std())],
        "trans_angle_mean_min_deg": [float(ang[:, :, 12:].mean()), float(ang[:, :, 12:].min())],
        "histogram_deg": np.histogram(flat, bins=np.arange(0, 181, 10))[0].tolist(),
        "all_octahedral_all_frames": bool(ok.all()),
        "octahedral_fraction": float(ok.mean()),
    }


def make_box(x: float, pairs: int, seed: int):
    """Packed box of round(x·pairs) LiPF6 + the rest EMIM-PF6 (templates, counts, atoms)."""
    lib = load_library()
    n_li = int(round(x * pairs))
    counts = {"Li": n_li, "EMIM": pairs - n_li, "PF6": pairs}
    counts = {s: n for s, n in counts.items() if n > 0}
    t = {s: clandp_template(lib.get(s), default_clandp()) for s in counts}
    return t, counts, packmol_box(t, counts, 1.2, seed=seed)


def run(a, settings: dict) -> dict:
    """Minimise, then ``--ps`` ps NPT (Langevin middle, MC barostat every 25 steps); monitor PF6⁻."""
    import openmm as mm

    t, counts, box = make_box(a.x, a.pairs, a.seed)
    system, info = build_system(box, t, charge_scale=settings["charge_scale"], cutoff_A=settings["cutoff_A"],
                                constraints=settings["constraints"], ewald_tolerance=settings["ewald_tolerance"])
    system.addForce(mm.MonteCarloBarostat(1.0, a.temperature_K, 25))
    dt_ps = settings["timestep_fs"] * 1e-3
    integ = mm.LangevinMiddleIntegrator(a.temperature_K, 1.0, dt_ps)
    integ.setRandomNumberSeed(a.seed + 1)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("CPU"))
    ctx.setPeriodicBoxVectors(*box_vectors_nm(box.cell[:]))
    ctx.setPositions(positions_nm(box))
    mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 2000)
    ctx.setVelocitiesToTemperature(a.temperature_K, a.seed + 1)
    symbols = box.get_chemical_symbols()
    pf6 = [idx for sp, idx in info.molecules if sp == "PF6"]
    mass = float(sum(np.sum(t[s].masses_amu) * n for s, n in counts.items()))
    n_chunk = int(round(a.sample_ps / dt_ps))
    frames, dens = [], []
    t0 = time.perf_counter()
    for k in range(int(round(a.ps / a.sample_ps)) + 1):
        if k:
            integ.step(n_chunk)
        st = ctx.getState(getPositions=True, enforcePeriodicBox=False)
        frames.append(pf6_geometry(st.getPositions(asNumpy=True)._value / A_TO_NM, symbols, pf6))
        dens.append(units.density_g_cm3(mass, st.getPeriodicBoxVolume()._value / A_TO_NM**3))
    wall = time.perf_counter() - t0
    return {"counts": counts, "atoms": len(box), "settings": settings, "x": a.x, "temperature_K": a.temperature_K,
            "ps": a.ps, "sample_ps": a.sample_ps, "wall_s": wall, "ns_per_day": a.ps * 1e-3 / (wall / 86400),
            "density_g_cm3_first_last": [dens[0], dens[-1]],
            "density_g_cm3_second_half_mean": float(np.mean(dens[len(dens) // 2:])), **summarize(frames)}


def report(r: dict) -> str:
    """Markdown summary of :func:`run`'s result."""
    s = r["settings"]
    return "\n".join([
        f"LiPF6/EMIM-PF6 x = {r['x']}, {r['counts']} ({r['atoms']} atoms), {r['temperature_K']} K, 1 bar, NPT {r['ps']} ps; "
        f"CL&P charge scale {s['charge_scale']}, cutoff {s['cutoff_A']} Å, Ewald tol {s['ewald_tolerance']}, "
        f"constraints {s['constraints']}, dt {s['timestep_fs']} fs; {r['n_frames']} frames, {r['wall_s']:.0f} s wall "
        f"({r['ns_per_day']:.1f} ns/day); density {r['density_g_cm3_second_half_mean']:.3f} g/cm3 (second half)",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| PF6⁻ ions × frames | {r['n_pf6']} × {r['n_frames']} |",
        f"| min F–F over the run (Å) | {r['min_FF_A']:.3f} |",
        f"| mean cis / trans F–F (Å) | {r['mean_cis_FF_A']:.3f} / {r['mean_trans_FF_A']:.3f} |",
        f"| P–F range (Å) | {r['r_PF_min_max_A'][0]:.3f}–{r['r_PF_min_max_A'][1]:.3f} |",
        f"| F–P–F min / max (deg) | {r['angle_min_deg']:.1f} / {r['angle_max_deg']:.1f} |",
        f"| fraction of angles within 90 ± 30° | {r['fraction_near_90']:.4f} (ideal 12/15 = 0.8) |",
        f"| fraction of angles > 150° | {r['fraction_near_180']:.4f} (ideal 3/15 = 0.2) |",
        f"| fraction elsewhere | {r['fraction_other']:.4f} |",
        f"| cis angles mean ± sd (deg) | {r['cis_angle_mean_sd_deg'][0]:.1f} ± {r['cis_angle_mean_sd_deg'][1]:.1f} |",
        f"| trans angles mean / min (deg) | {r['trans_angle_mean_min_deg'][0]:.1f} / {r['trans_angle_mean_min_deg'][1]:.1f} |",
        f"| (ion, frame) pairs octahedral | {r['octahedral_fraction']:.4f} (all: {r['all_octahedral_all_frames']}) |",
    ])


def check_state(folder: Path) -> dict:
    """PF6⁻ geometry of one saved frame: ``folder`` holds box.xyz and state.xml of a
    benchmarks/clandp_densities.py run (e.g. EMIM_PF6 at standard settings)."""
    import openmm as mm
    from ase.io import read

    box = read(folder / "box.xyz")
    st = mm.XmlSerializer.deserialize((folder / "state.xml").read_text())
    pos = st.getPositions(asNumpy=True)._value / A_TO_NM
    sp = box.arrays["mol_species"]
    ids = box.arrays["mol_id"]
    pf6 = [np.flatnonzero(ids == m) for m in np.unique(ids[sp == "PF6"])]
    return summarize([pf6_geometry(pos, box.get_chemical_symbols(), pf6)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--x", type=float, default=0.4, help="mole fraction of LiPF6")
    ap.add_argument("--pairs", type=int, default=20, help="formula units (the example's box: 20)")
    ap.add_argument("--temperature-K", type=float, default=353.15)
    ap.add_argument("--ps", type=float, default=100.0, help="NPT run length after minimisation, ps")
    ap.add_argument("--sample-ps", type=float, default=0.5)
    ap.add_argument("--standard", action="store_true", help="standard CL&P settings instead of the example's")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="pf6_octahedral.json")
    ap.add_argument("--check-state", type=Path, help="only check the last frame of a clandp_densities.py run folder")
    a = ap.parse_args(argv)
    if a.check_state:
        r = check_state(a.check_state)
        print({k: v for k, v in r.items() if not k.startswith(("min_FF_per", "histogram"))})
        return 0 if r["all_octahedral_all_frames"] else 1
    r = run(a, STANDARD if a.standard else EXAMPLE)
    write_json_atomic(Path(a.out), r)
    print(report(r))
    return 0 if r["all_octahedral_all_frames"] else 1


if __name__ == "__main__":
    sys.exit(main())
