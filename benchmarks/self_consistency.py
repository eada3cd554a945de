"""Self-consistency: an MLIP trained by ilforge on CL&P labels against CL&P itself, same box, same T.

This separates the MLIP's error from the reference's (issue 15, item 3): the force field is the
reference, its own NPT run is the exact answer, and ilforge's pipeline (build, sample, label,
train, validate, md) produces the MLIP and its NPT run on the same box size and temperature.

1. Recipe (written to ``OUT/recipe.yaml``): EMIM-BF4, ``--pairs`` ion pairs, CL&P with full charges,
   LJ/real-space cutoff ``--cutoff-A`` (the box is small; PME keeps Coulomb complete, the LJ tail
   correction and a 1 Å switch cover the rest), classical labels from the same force field (energy,
   forces, stress = −dE/dV), sampling NPT at ``--temperature-K``, the demo's volume-scan and H···F contact-scan frames, a
   small MACE, MLIP NPT (MTK barostat, Nosé–Hoover chain) for ``--mlip-ps``.
2. Reference trajectory: the same force field in OpenMM (flexible bonds, as labelled; Langevin
   1/ps, Monte Carlo barostat every 25 steps), NPT for ``--ff-ps`` after ``--ff-eq-ps``, a frame
   every ``--save-ps`` (the MLIP run's interval); molecules unwrapped through time by their centre
   of mass (scaled coordinates, so the barostat's box changes do not fake jumps).
3. The same ilforge analyses on both (:func:`ilforge.analysis.driver.analyze_trajectory`): density
   (mean ± block standard error, drift over the run), centre-of-mass and element RDFs (first-peak
   position and height), self-diffusion D of each ion (block errors). Printed: each quantity, its
   error, the MLIP − CL&P difference and whether it meets issue 15's bar (density within 1 %, RDF
   peaks within 0.05 Å, heights within 10 %, D within 30 %), judged with the error bars: "yes" when
   the difference and its 2σ both lie inside the bar, "no" when the difference lies outside it by
   more than 2σ, otherwise "undecided (run longer)".
4. A low-noise estimate of the MLIP's density that needs no MLIP NPT: on the CL&P NPT frames,
   ⟨ΔP⟩ = ⟨P_MLIP − P_CL&P⟩ (same configurations, so the fluctuations cancel) and, to first order,
   ρ_MLIP ≈ ρ_CL&P (1 − κT ⟨ΔP⟩), κT from the CL&P run's volume fluctuations (or experiment).

Resumable: the pipeline's stages resume; the reference trajectory is kept in ``OUT/ff_ref.npz``.
Usage::

    OPENMM_CPU_THREADS=2 PYTHONPATH=src python benchmarks/self_consistency.py OUT \\
        [--pairs 6] [--temperature-K 500] [--mlip-ps 20] [--ff-ps 100] [--epochs 100]
    python benchmarks/self_consistency.py OUT --table-only
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ilforge import keys, units
from ilforge.jsonio import write_json_atomic

log = logging.getLogger("self_consistency")

#: issue 15's bars: relative density, RDF first-peak position (Å), height (relative), D (relative)
BARS = {"density": 0.01, "peak_r": 0.05, "peak_g": 0.10, "D": 0.30}
RDF_PAIRS = [["B", "N"], ["F", "H"], ["B", "B"]]


def recipe_doc(args) -> dict:
    """The recipe of the MLIP side (see the module docstring)."""
    return {
        "name": "self_consistency", "seed": args.seed,
        "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": args.pairs},
        "temperatures_K": [args.temperature_K],
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "training_compositions": ["neat"],
        "forcefield": {"type": "clandp", "charge_scale": 1.0, "cutoff_A": args.cutoff_A},
        "reference_check": {"enabled": False},
        "sampling": {"timestep_fs": 1.0, "equilibration_ps": 20, "production_ps": args.sample_ps,
                     "interval_ps": args.sample_ps / args.frames},
        "labels": {"labeler": "classical", "frames_per_composition": args.frames,
                   "strategies": {  # the demo's (examples/emim_bf4.yaml), its reference replaced by CL&P
                       "volume_scan": {"percent": [-15, -10, -5, 5, 10, 15, 25], "frames_per_composition": 8},
                       "contact_scan": {"pairs": [["H", "F"]], "distances_A": [1.3, 1.5, 1.7, 1.9],
                                        "frames_per_composition": 8}}},
        "training": {"preset": "small", "max_epochs": args.epochs, "batch_size": 4, "valid_fraction": 0.1,
                     "test_fraction": 0.1, "forces_weight": 10.0, "energy_weight": 10.0, "dtype": "float32",
                     "extra": {"model": "ScaleShiftMACE", "pair_repulsion": True}},
        "md": {"ensemble": "npt", "timestep_fs": args.timestep_fs, "equilibration_ps": args.mlip_eq_ps,
               "production_ps": args.mlip_ps, "save_every_steps": max(1, round(args.save_ps * 1000 / args.timestep_fs)),
               "default_dtype": args.dtype, "checkpoint_every_steps": 2000},
        "analysis": {"properties": ["density", "diffusion", "rdf"], "rdf_pairs": RDF_PAIRS, "n_blocks": 5},
    }


def run_mlip_side(out: Path, args):
    """plan … md of ilforge's pipeline on the recipe (resumable); returns (project, recipe)."""
    import yaml

    from ilforge.pipeline import STAGES, run_stages
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    path = out / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe_doc(args), sort_keys=False))
    recipe = load_recipe(path)
    project = Project.init(out / "work", path)
    stages = [s for s in STAGES if s.name in ("plan", "build", "sample", "label", "train", "validate", "md")]

    def event(name, what, st):
        log.info("stage %s: %s%s", name, what, f" ({st.wall_s:.0f} s)" if what == "done" and st.wall_s else "")

    run_stages(recipe, project, stages, on_event=event)
    return project, recipe


def unwrap_molecules(frames) -> list:
    """Frames whose molecules were put back into the cell one by one, made continuous in time: each
    molecule is shifted by whole cell vectors so its centre of mass moves least from the previous
    frame, in scaled coordinates (valid under NPT, where the cell changes)."""
    from ilforge.analysis.geometry import centres_of_mass

    out, prev = [], None
    for a in frames:
        b = a.copy()
        mol = b.arrays[keys.MOL_ID]
        com = centres_of_mass(b.positions, b.get_masses(), mol)
        s = com @ np.linalg.inv(b.cell.array)
        if prev is not None:
            shift = np.round(prev - s)
            s = s + shift
            _, inv = np.unique(mol, return_inverse=True)
            b.positions = b.positions + (shift @ b.cell.array)[inv]
        prev = s
        out.append(b)
    return out


def ff_reference(project, recipe, args, out: Path):
    """The CL&P NPT reference trajectory (cached in ``OUT/ff_ref.npz``): (Trajectory, wall s, ns/day)."""
    from ilforge.forcefields.assign import templates_for
    from ilforge.forcefields.openmm_system import build_system
    from ilforge.md.trajectory import Trajectory
    from ilforge.project import GENERIC_FF_CACHE
    from ilforge.sample.md import make_molecules_whole, run_classical_md
    from ilforge.sample.runner import load_box

    cache = out / "ff_ref.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        traj = Trajectory(positions=z["positions"], cells=z["cells"], time_ps=z["time_ps"], numbers=z["numbers"],
                          masses=z["masses"], mol_id=z["mol_id"], mol_species=z["mol_species"])
        return traj, float(z["wall_s"]), float(z["ns_day"])
    comp = recipe.resolve_compositions(recipe.library())[0]
    T = float(recipe.temperatures_K[0])
    box = make_molecules_whole(load_box(project, recipe, comp, T))
    ff = recipe.forcefield
    templates = templates_for(sorted(comp.counts), recipe.library(), ff, cache_dir=project.cache_dir(GENERIC_FF_CACHE),
                              seed=recipe.seed)
    system, info = build_system(box, templates, constraints="none", **ff.system_options(ff.cutoff_A))
    res = run_classical_md(box, system, info, T, timestep_fs=1.0, friction_per_ps=1.0, equilibration_ps=args.ff_eq_ps,
                           production_ps=args.ff_ps, ensemble="npt", interval_ps=args.save_ps,
                           report_interval_ps=args.save_ps, seed=args.seed + 17)
    frames = unwrap_molecules(res.frames)
    traj = Trajectory.from_atoms(frames, dt_ps=args.save_ps)
    np.savez(cache, positions=traj.positions, cells=traj.cells, time_ps=traj.time_ps, numbers=traj.numbers,
             masses=traj.masses, mol_id=np.asarray(traj.mol_id), mol_species=np.asarray(traj.mol_species).astype(str),
             wall_s=res.wall_s, ns_day=res.ns_per_day or 0.0)
    return traj, res.wall_s, res.ns_per_day or 0.0


def mlip_trajectory(project):
    """(Trajectory, its MDResult, run directory) of the project's one MLIP NPT run."""
    from ilforge.analysis.driver import load_run

    runs = sorted(p.parent for p in (project.root / "md").rglob("run.json"))
    if len(runs) != 1:
        raise SystemExit(f"expected one MLIP run under {project.root / 'md'}, found {len(runs)}")
    traj, result = load_run(runs[0])
    return traj, result, runs[0]


def analyse(traj, T: float) -> dict:
    """Density, RDF first peaks and D of one trajectory, with the same settings for both sides."""
    from ilforge.analysis.driver import analyze_trajectory
    from ilforge.analysis.settings import AnalysisSettings

    s = AnalysisSettings(properties=["density", "diffusion", "rdf"], rdf_pairs=RDF_PAIRS, n_blocks=5)
    traj.metadata.setdefault("temperature_K", T)  # the CL&P trajectory's thermostat target
    res = analyze_trajectory(traj, s)
    rho = np.asarray(units.density_g_cm3(float(traj.masses.sum()), traj.volumes_A3))
    t = traj.time_ps - traj.time_ps[0]
    slope = np.polyfit(t, rho, 1)[0] if len(t) > 2 else 0.0
    res["density_drift_g_cm3"] = float(slope * (t[-1] - t[0]))
    return res


def _num(x):
    return None if x is None else float(x)


def _peak(rdf: dict):
    """(r, its error, g, its error) of an RDF's first peak: the bin's block error for g, the bin
    width / √12 (the resolution) for r; Nones when no peak was found."""
    if rdf.get("first_peak_r_A") is None:
        return None, None, None, None
    r = np.asarray(rdf["r_A"])
    i = int(np.argmin(np.abs(r - rdf["first_peak_r_A"])))
    width = float(np.diff(np.asarray(rdf["edges_A"]))[i])
    return float(rdf["first_peak_r_A"]), width / np.sqrt(12.0), float(rdf["first_peak_g"]), float(np.asarray(rdf["g_err"])[i])


def rows_of(ff: dict, ml: dict) -> list[dict]:
    """One row per compared quantity: name, CL&P value ± err, MLIP value ± err, difference, bar, verdict."""
    rows = []

    def add(name, a, ea, b, eb, bar, relative):
        if a is None or b is None:
            rows.append({"quantity": name, "clandp": a, "clandp_err": ea, "mlip": b, "mlip_err": eb,
                         "difference": None, "bar": bar, "verdict": "not measured"})
            return
        d = (b - a) / a if relative else b - a
        sig = np.hypot(ea or 0.0, eb or 0.0) / (abs(a) if relative else 1.0)
        if abs(d) + 2 * sig <= bar:
            verdict = "yes"
        elif abs(d) - 2 * sig > bar:
            verdict = "no"
        else:
            verdict = "undecided (run longer)"
        rows.append({"quantity": name, "clandp": a, "clandp_err": ea, "mlip": b, "mlip_err": eb, "difference": float(d),
                     "difference_err": float(sig), "relative": relative, "bar": bar, "verdict": verdict})

    add("density g/cm3", ff["density"]["density_mean_g_cm3"], ff["density"]["density_err_g_cm3"],
        ml["density"]["density_mean_g_cm3"], ml["density"]["density_err_g_cm3"], BARS["density"], True)
    for key, r_ff in sorted(ff.get("rdf", {}).items()):
        r_ml = ml.get("rdf", {}).get(key)
        if not isinstance(r_ff, dict) or not isinstance(r_ml, dict):
            continue
        (x_ff, ex_ff, g_ff, eg_ff), (x_ml, ex_ml, g_ml, eg_ml) = _peak(r_ff), _peak(r_ml)
        add(f"RDF {key} first peak r / Å", x_ff, ex_ff, x_ml, ex_ml, BARS["peak_r"], False)
        add(f"RDF {key} first peak g", g_ff, eg_ff, g_ml, eg_ml, BARS["peak_g"], True)
    for sp, D in sorted(ff["diffusion"]["D_m2_s"].items()):
        add(f"D({sp}) / m2/s", D, ff["diffusion"]["D_err_m2_s"].get(sp), ml["diffusion"]["D_m2_s"].get(sp),
            ml["diffusion"]["D_err_m2_s"].get(sp), BARS["D"], True)
    return rows


def pressure_offset(project, recipe, ff_traj, n_frames: int, T: float) -> dict:
    """⟨P_MLIP − P_CL&P⟩ (GPa) on ``n_frames`` CL&P frames and the first-order MLIP density it implies."""
    from ase import Atoms

    from ilforge.analysis.density import kappa_T_fluctuation_GPa
    from ilforge.md.calculators import calculator_from_dict
    from ilforge.md.stage import md_settings, model_calculator
    from ilforge.project import GENERIC_FF_CACHE
    from ilforge.reference.classical import ClassicalLabeler

    lab = ClassicalLabeler.from_recipe(recipe, cache_dir=project.cache_dir(GENERIC_FF_CACHE))
    calc = calculator_from_dict(model_calculator(None, project, recipe, md_settings(recipe)))
    idx = np.linspace(0, ff_traj.n_frames - 1, n_frames).round().astype(int)
    dp = []
    for i in idx:
        a = Atoms(numbers=ff_traj.numbers, positions=ff_traj.positions[i], cell=ff_traj.cells[i], pbc=True)
        a.arrays[keys.MOL_ID] = np.asarray(ff_traj.mol_id)
        a.arrays[keys.MOL_SPECIES] = np.asarray(ff_traj.mol_species)
        ref = lab.label(a)
        a.calc = calc
        s_ml = a.get_stress(voigt=True)
        dp.append(-(float(np.sum(s_ml[:3])) - float(np.sum(ref.stress[:3]))) / 3.0 / units.GPA)
    dp = np.asarray(dp)
    kappa = kappa_T_fluctuation_GPa(ff_traj.volumes_A3, T)
    rho_ff = float(np.mean(units.density_g_cm3(float(ff_traj.masses.sum()), ff_traj.volumes_A3)))
    mean, err = float(dp.mean()), float(dp.std(ddof=1) / np.sqrt(len(dp)))
    return {"frames": int(len(dp)), "dP_GPa": mean, "dP_err_GPa": err, "kappa_T_per_GPa": float(kappa),
            "rho_clandp": rho_ff, "rho_mlip_first_order": rho_ff * (1 - kappa * mean),
            "relative": -kappa * mean, "relative_err": kappa * err}


def _fmt(v, e=None):
    if v is None:
        return "-"
    s = f"{v:.4g}"
    return s + (f" ± {e:.2g}" if e else "")


def table(doc: dict) -> str:
    lines = [f"EMIM-BF4, {doc['pairs']} ion pairs ({doc['n_atoms']} atoms), {doc['temperature_K']:g} K, 1 bar; "
             f"CL&P NPT {doc['ff_ps']:g} ps ({doc['ff_ns_day']:.1f} ns/day), MLIP NPT {doc['mlip_ps']:g} ps "
             f"({doc['mlip_atom_steps_s']:.0f} atom-steps/s), MLIP test force MAE {_num(doc.get('test_force_mae_meV_A')) or float('nan'):.1f} meV/Å",
             "", "| quantity | CL&P | MLIP | MLIP − CL&P | bar | within? |", "|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        if r["difference"] is None:
            diff = "-"
        elif r.get("relative"):
            diff = f"{100 * r['difference']:+.1f}" + ("" if r["difference_err"] is None else f" ± {100 * r['difference_err']:.1f}") + " %"
        else:
            diff = f"{r['difference']:+.3f}" + ("" if r["difference_err"] is None else f" ± {r['difference_err']:.3f}")
        bar = f"{100 * r['bar']:g} %" if r.get("relative", not r["quantity"].endswith("/ Å")) else f"{r['bar']:g} Å"
        lines.append(f"| {r['quantity']} | {_fmt(r['clandp'], r['clandp_err'])} | {_fmt(r['mlip'], r['mlip_err'])} | "
                     f"{diff} | {bar} | {r['verdict']} |")
    lines.append("")
    lines.append(f"density drift over the run: CL&P {doc['ff_drift_g_cm3']:+.4f}, MLIP {doc['mlip_drift_g_cm3']:+.4f} g/cm3")
    po = doc.get("pressure_offset")
    if po:
        lines.append(f"on {po['frames']} CL&P frames: <P_MLIP - P_CL&P> = {po['dP_GPa']:+.3f} ± {po['dP_err_GPa']:.3f} GPa; "
                     f"κT (CL&P volume fluctuations) {po['kappa_T_per_GPa']:.2f} 1/GPa -> first-order MLIP density "
                     f"{po['rho_mlip_first_order']:.4f} g/cm3 ({100 * po['relative']:+.2f} ± {100 * po['relative_err']:.2f} % "
                     f"from CL&P {po['rho_clandp']:.4f})")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--temperature-K", type=float, default=500.0)
    ap.add_argument("--cutoff-A", type=float, default=5.0)
    ap.add_argument("--sample-ps", type=float, default=100.0, help="CL&P sampling production, ps")
    ap.add_argument("--frames", type=int, default=100, help="sampled frames labelled")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--timestep-fs", type=float, default=0.5, help="MLIP MD time step")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="MLIP MD precision")
    ap.add_argument("--mlip-eq-ps", type=float, default=2.0)
    ap.add_argument("--mlip-ps", type=float, default=20.0)
    ap.add_argument("--ff-eq-ps", type=float, default=20.0)
    ap.add_argument("--ff-ps", type=float, default=100.0)
    ap.add_argument("--save-ps", type=float, default=0.1)
    ap.add_argument("--pressure-frames", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.table_only:
        print(table(json.loads((out / "result.json").read_text())))
        return 0
    from ilforge.analysis.driver import jsonable
    from ilforge.project import validate_name

    t0 = time.perf_counter()
    project, recipe = run_mlip_side(out, args)
    log.info("MLIP side done after %.0f s", time.perf_counter() - t0)
    ff_traj, ff_wall, ff_nsday = ff_reference(project, recipe, args, out)
    ml_traj, ml_result, run_dir = mlip_trajectory(project)
    T = float(recipe.temperatures_K[0])
    ff, ml = analyse(ff_traj, T), analyse(ml_traj, T)
    val = project.read_results(validate_name(recipe.training.model_name)) or {}
    doc = {"pairs": args.pairs, "n_atoms": int(len(ff_traj.numbers)), "temperature_K": T, "ff_ps": args.ff_ps,
           "mlip_ps": args.mlip_ps, "ff_ns_day": ff_nsday, "ff_wall_s": ff_wall, "args": vars(args) | {"out": str(out)},
           "mlip_atom_steps_s": float(getattr(ml_result, "atom_steps_per_s", None) or 0.0),
           "test_force_mae_meV_A": (val.get("overall") or {}).get("forces_mae_meV_A"),
           "test_force_rmse_meV_A": (val.get("overall") or {}).get("forces_rmse_meV_A"),
           "ff_drift_g_cm3": ff["density_drift_g_cm3"], "mlip_drift_g_cm3": ml["density_drift_g_cm3"],
           "rows": rows_of(ff, ml), "clandp": ff, "mlip": ml, "mlip_run": str(run_dir)}
    doc["pressure_offset"] = pressure_offset(project, recipe, ff_traj, args.pressure_frames, T)
    write_json_atomic(out / "result.json", jsonable(doc), indent=1)
    print(table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
