"""The backends side by side (issue 14, item 5): one labelled data set, every MLIP backend, the same
split, validation and MD.

1. Data, made with ilforge itself (plan, build, sample, label; resumable): EMIM-BF4 with two
   compositions, neat (``--pairs`` ion pairs) and LiBF4 at x = ``--li-fraction``, CL&P sampling
   (NPT-free: NVT at the planner's density) at ``--temperature-K`` and ``labels: {labeler: classical}``
   (the same CL&P force field gives energy, forces and stress, so it all runs on a CPU); MD snapshots,
   rattled copies and a volume scan, ``--frames`` per composition.
2. For each backend of ``--backends`` and preset of ``--presets`` (sevenn: its ``zero_shot``,
   ``fine_tune`` and ``scratch`` presets, the comparison of issue 14 item 2):
   :func:`ilforge.models.training.train_model` (the hash-stable split per composition, identical for
   every backend: valid 10 %, test 20 %), wall and CPU time (this process and its children).
3. Errors on the held-out test frames per composition (:func:`ilforge.models.metrics.compute_metrics`:
   energy RMSE meV/atom, force RMSE meV/Å, stress RMSE meV/Å³).
4. One NPT run per model through ilforge's MD runner (:func:`ilforge.md.runner.run_state_point`, default
   monitors, MTK barostat at 1 bar, ``--md-ps`` at ``--timestep-fs``) from the md stage's start for the
   neat composition (the last frame of its CL&P sampling run): MD speed (atom-steps/s of the runner; env backends go through the socket calculator),
   stability (steps done before a monitor stopped the run, of the fixed length), density (mean ±
   block standard error over ``--blocks`` blocks) and the first peak of the F–H RDF.
5. MD speed on the code's native path in its own environment (the worker's ``speed`` mode: the
   backend's calculator in-process, ``--native-steps`` steps on the same box); MACE: a plain ASE
   velocity-Verlet loop on the same in-process calculator.

6. The reference row (``--no-reference`` leaves it out): the labels' own level (the recipe's labeler, CL&P,
   as an ASE calculator) through the same NPT run from the same start, the density and RDF peaks each
   MLIP row is to reproduce.

Printed: one row per (backend, preset); written to ``OUT/backends.json``. Each finished row is kept in
``OUT/rows/<backend>_<preset>.json``: a rerun skips it (``--force`` redoes it).

    PYTHONPATH=src python benchmarks/backends.py OUT [--backends mace deepmd apax sevenn nequip allegro]
        [--presets small medium] [--epochs 10] [--md-ps 0.5]
    python benchmarks/backends.py OUT --table-only
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np

from ilforge import keys, units
from ilforge.jsonio import write_json_atomic

log = logging.getLogger("backends")

ALL_BACKENDS = ["mace", "deepmd", "apax", "sevenn", "nequip", "allegro"]
SEVENN_PRESETS = ["zero_shot", "fine_tune", "scratch"]
RDF_PAIRS = [["F", "H"], ["B", "F"]]
#: the options a kept row was made with; a rerun with other values redoes the row
MD_ARGS = ("md_ps", "timestep_fs", "save_every", "blocks", "native_steps", "seed")
ROW_ARGS = ("epochs", "sevenn_epochs", "threads", *MD_ARGS)


def kept_row(path: Path, args, names: tuple[str, ...]) -> tuple[dict | None, dict]:
    """(the row kept in ``path`` when it was made with the same ``names`` options and did not fail, else
    None; those options): a rerun skips a kept row, ``--force`` redoes it."""
    run_args = {k: getattr(args, k) for k in names}
    kept = json.loads(path.read_text()) if path.is_file() and not args.force else {}
    ok = kept.get("run_args") == run_args and "failed" not in kept
    return (kept if ok else None), run_args
ENVS = {"deepmd": "deepmd", "apax": "apax", "sevenn": "sevenn", "nequip": "nequip", "allegro": "nequip"}


def recipe_doc(args) -> dict:
    """The data set's recipe (see the module docstring)."""
    x = args.li_fraction
    return {
        "name": "backends_side_by_side", "seed": args.seed,
        "components": {"LiBF4": {"Li": 1, "BF4": 1}, "EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": args.pairs},
        "temperatures_K": [args.temperature_K],
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}},
                         {"id": f"li{round(100 * x):02d}", "fractions": {"LiBF4": x, "EMIM_BF4": 1.0 - x}}],
        "training_compositions": ["neat", f"li{round(100 * x):02d}"],
        "forcefield": {"type": "clandp", "charge_scale": 0.8, "cutoff_A": args.cutoff_A},
        "reference_check": {"enabled": False},
        "sampling": {"timestep_fs": 1.0, "equilibration_ensemble": "nvt", "ensemble": "nvt", "equilibration_ps": 10,
                     "production_ps": args.sample_ps, "interval_ps": args.sample_ps / args.frames},
        "labels": {"labeler": "classical", "frames_per_composition": args.frames,
                   "strategies": {"rattle": {"copies": 1, "stdev_A": 0.05, "frames_per_composition": max(1, args.frames // 5)},
                                  "volume_scan": {"percent": [-6, -3, 3, 6], "frames_per_composition": 4}}},
    }


def make_data(out: Path, args):
    """plan … label of ilforge's pipeline on the recipe (resumable); returns (project, recipe, LabelledData)."""
    import yaml

    from ilforge.models.data import load_labelled
    from ilforge.pipeline import STAGES, run_stages
    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.reference.stage import level_of_theory

    path = out / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe_doc(args), sort_keys=False))
    recipe = load_recipe(path)
    work = out / "work"
    project = Project.open(work) if (work / "recipe.yaml").is_file() else Project.init(work, path)
    stages = [s for s in STAGES if s.name in ("plan", "build", "sample", "label")]
    run_stages(recipe, project, stages, on_event=lambda n, what, st: log.info("stage %s: %s", n, what))
    return project, recipe, load_labelled(project, None, level_of_theory(project, recipe))


def cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def settings_for(backend: str, preset: str, args):
    from ilforge.models.registry import settings_class, settings_from_dict

    cls = settings_class(backend)
    doc = {"backend": backend, "preset": preset, "max_epochs": args.epochs, "batch_size": 4, "valid_fraction": 0.1,
           "test_fraction": 0.2, "seed": args.seed}
    if backend == "sevenn":
        doc["max_epochs"] = args.sevenn_epochs or args.epochs
    if "threads" in cls.model_fields:
        doc["threads"] = args.threads
    return settings_from_dict(doc)


def train(project, data, backend: str, preset: str, args, kept: Path) -> tuple[Path, dict]:
    """Train ``models/bb_<backend>_<preset>``, or reuse it when ``kept`` (its timing) holds the same
    settings; returns (model dir, timing)."""
    from ilforge.models.training import train_model

    model_dir = project.model_dir(f"bb_{backend}_{preset}")
    settings = settings_for(backend, preset, args).model_dump(mode="json")
    if kept.is_file() and not args.retrain:
        timing = json.loads(kept.read_text())
        if timing["settings"] == settings:
            return model_dir, timing
    t0, c0 = time.perf_counter(), cpu_s()
    train_model(settings_for(backend, preset, args), data, model_dir)
    timing = {"train_wall_s": time.perf_counter() - t0, "train_cpu_s": cpu_s() - c0, "settings": settings}
    write_json_atomic(kept, timing, indent=1)
    return model_dir, timing


def test_errors(model_dir: Path) -> dict:
    """RMSEs on ``test.extxyz`` per composition: {composition: {energy, forces, stress}}."""
    from ilforge.models.committee import Committee
    from ilforge.models.data import read_frames_file
    from ilforge.models.metrics import compute_metrics
    from ilforge.validate.evaluate import check_frames_for_model

    committee = Committee.load(model_dir)
    test = read_frames_file(model_dir / "test.extxyz")
    if committee.members[0].info.get("foundation_model") is None or committee.members[0].info.get("settings", {}).get("preset") != "zero_shot":
        check_frames_for_model(committee, test)  # a zero-shot model is of another level of theory by design
    metrics = compute_metrics(test, committee.predict(test))
    out = {}
    groups = {"all": metrics["overall"], **metrics.get(f"by_{keys.COMPOSITION_ID}", {}),
              **{f"config:{k}": v for k, v in metrics.get(f"by_{keys.CONFIG_TYPE}", {}).items()}}
    for comp, block in groups.items():
        out[comp] = {"n_frames": block["n_frames"], "energy_rmse_meV_atom": block["energy_rmse_meV_atom"],
                     "forces_rmse_meV_A": block["forces_rmse_meV_A"], "stress_rmse_meV_A3": block.get("stress_rmse_meV_A3")}
    return out


def md_box(project, recipe):
    """The neat composition's starting structure of ilforge's md stage (:func:`ilforge.md.stage.md_start`:
    the last frame of the CL&P sampling run, equilibrated like the training data)."""
    from ase.io import read

    from ilforge.md.stage import md_start

    return read(md_start(project, recipe, "neat", float(recipe.temperatures_K[0])))


def run_md(model_dir: Path, box, T: float, args) -> dict:
    """NPT through ilforge's runner with the model's calculator: speed, stability, density ± block error, RDF first peak."""
    from ilforge.md.calculators import calculator_from_dict
    from ilforge.models.committee import Committee

    calc = calculator_from_dict(Committee.load(model_dir).calculator_factory("cpu", "float64").to_dict())
    return md_of(calc, box, T, args, model_dir.parent.parent / "md" / model_dir.name)


def md_of(calc, box, T: float, args, outdir: Path) -> dict:
    """NPT of ``box`` with ``calc`` through ilforge's runner (1 bar, MTK barostat, ``--md-ps`` at
    ``--timestep-fs``, default monitors) into ``outdir``; closes ``calc``."""
    from ilforge.md.runner import StatePoint, run_state_point
    from ilforge.md.settings import MDSettings

    s = MDSettings(ensemble="npt", timestep_fs=args.timestep_fs, equilibration_ps=0.0, production_ps=args.md_ps,
                   save_every_steps=args.save_every, checkpoint_every_steps=10**6, pressures_bar=[1.0], seed=args.seed)
    try:
        t0 = time.perf_counter()
        warm = box.copy()
        warm.calc = calc
        warm.get_stress()  # starts the socket client (or compiles) before the runner's clock starts
        t1 = time.perf_counter()
        speed = runner_speed(calc, box, T, args, outdir.with_name(outdir.name + "_speed")) if args.native_steps > 0 else None
        t2 = time.perf_counter()
        res = run_state_point(box.copy(), calc, s, outdir, StatePoint(T, 1.0), restart=False, progress=False)
        wall = time.perf_counter() - t2
    finally:
        getattr(calc, "close", lambda: None)()
    row = {"md_status": res.status, "md_steps_done": res.steps_done, "md_steps_total": res.steps_total,
           "md_problem": res.problem, "md_atom_steps_s": speed or res.atom_steps_per_s, "npt_atom_steps_s": res.atom_steps_per_s,
           "md_wall_s": wall, "n_atoms": len(box), "md_first_call_s": t1 - t0}
    return {**row, **md_analysis(outdir, args.blocks)}


def reference_row(project, recipe, box, args, rows_dir: Path) -> dict:
    """The labels' own level (the recipe's labeler as an ASE calculator, CL&P here) through the same NPT
    protocol from the same start: the density and RDF peaks each MLIP row is to reproduce. Kept in
    ``rows_dir/reference.json`` (resumable)."""
    from ilforge.reference.calculator import LabelerCalculator
    from ilforge.reference.stage import build_labeler, level_of_theory

    path = rows_dir / "reference.json"
    kept, run_args = kept_row(path, args, MD_ARGS)
    if kept:
        return kept
    calc = LabelerCalculator(build_labeler(project, recipe))
    row = {"backend": "reference", "preset": level_of_theory(project, recipe).split(";")[0], "run_args": run_args,
           **md_of(calc, box, float(recipe.temperatures_K[0]), args, project.root / "md" / "reference")}
    write_json_atomic(path, row, indent=1)
    return row


def runner_speed(calc, box, T: float, args, outdir: Path) -> float:
    """atom-steps/s of ilforge's runner over ``--native-steps`` NVT steps (Langevin, H5MD every
    ``--save-every``, monitors computed but with thresholds so wide that an inaccurate model is not
    stopped: the cost of the path, as benchmarks/md.py measures it for MACE)."""
    from ilforge.md.runner import StatePoint, run_state_point
    from ilforge.md.settings import MDSettings

    s = MDSettings(ensemble="nvt", timestep_fs=args.timestep_fs, equilibration_ps=0.0,
                   production_ps=args.native_steps * args.timestep_fs / 1000.0, save_every_steps=min(args.save_every, args.native_steps),
                   checkpoint_every_steps=10**6, seed=args.seed,
                   monitors={"temperature_factor": 1e6, "bond_break_factor": 100.0, "bonds": False, "min_distances_A": {},
                             "min_distance_any_A": 0.0})
    return float(run_state_point(box.copy(), calc, s, outdir, StatePoint(T), restart=False, progress=False).atom_steps_per_s)


def md_analysis(outdir: Path, blocks: int) -> dict:
    """Density (mean ± block standard error, g/cm³) and the RDFs' first peaks (Å) of a run's production
    (at least 2 saved frames per block; else {})."""
    from ilforge.analysis.driver import analyze_trajectory, load_run
    from ilforge.analysis.settings import AnalysisSettings

    if not (outdir / "run.json").is_file():
        return {}
    traj, _ = load_run(outdir)
    if traj.n_frames < 2 * blocks:  # too short for block errors (the run stopped early)
        return {}
    an = analyze_trajectory(traj, AnalysisSettings(properties=["density", "rdf"], rdf_pairs=RDF_PAIRS, n_blocks=blocks))
    peaks = {f"{a}-{b}": (an.get("rdf", {}).get(f"{a}-{b}") or {}).get("first_peak_r_A") for a, b in RDF_PAIRS}
    rho = np.asarray(an["density"]["density_g_cm3"], dtype=float)
    return {"density_g_cm3": an["density"]["density_mean_g_cm3"], "density_err_g_cm3": an["density"]["density_err_g_cm3"],
            "density_start_end_g_cm3": [float(rho[0]), float(rho[-1])], "md_frames": traj.n_frames, "rdf_peak_r_A": peaks}


def native_speed(backend: str, model_dir: Path, box, steps: int, workdir: Path) -> dict:
    """atom-steps/s of the code's own calculator in its own process (see the module docstring)."""
    from ilforge.models.committee import Committee

    committee = Committee.load(model_dir)
    calc = committee.calculator_factory("cpu", "float64")()
    if backend == "mace":
        return {"native_atom_steps_s": _ase_loop_speed(box, calc, steps), "native_path": "MACECalculator, ASE loop"}
    from ilforge.envs.subprocess_task import run_in_env

    try:
        task = {**calc.task, "mode": "speed", "atoms": "atoms.extxyz", "steps": steps}
        a = box.copy()
        a.calc = None
        workdir.mkdir(parents=True, exist_ok=True)
        a.write(workdir / "atoms.extxyz", format="extxyz")
        res = run_in_env(calc.env, calc.worker, task, workdir, calc.threads)
    finally:
        calc.close()
    return {"native_atom_steps_s": len(box) / res["s_per_step"], "native_path": f"{calc.worker} speed mode"}


def _ase_loop_speed(box, calc, steps: int) -> float:
    """atom-steps/s of a plain ASE velocity-Verlet loop (1 fs) on ``box`` after 2 warm-up steps."""
    from ase.md.velocitydistribution import thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    a = box.copy()
    a.calc = calc
    thermalize_momenta(a, temperature_K=300.0, rng=np.random.default_rng(0))
    md = VelocityVerlet(a, timestep=1.0 * units.FS)
    md.run(2)
    t0 = time.perf_counter()
    md.run(steps)
    return len(a) * steps / (time.perf_counter() - t0)


def not_run(backend: str, preset: str) -> str | None:
    """Why (backend, preset) cannot run here, or None."""
    from ilforge.envs.manager import is_ready

    if backend in ENVS and not is_ready(ENVS[backend]):
        return f"environment {ENVS[backend]!r} not created (`ilforge env create {ENVS[backend]}`)"
    return None


def one_row(project, recipe, data, box, backend: str, preset: str, args, rows_dir: Path) -> dict:
    """Train, test, MD and native speed of one (backend, preset); kept in ``rows_dir`` (resumable)."""
    path = rows_dir / f"{backend}_{preset}.json"
    kept, run_args = kept_row(path, args, ROW_ARGS)
    if kept:
        return kept
    row = {"backend": backend, "preset": preset, "run_args": run_args}
    reason = not_run(backend, preset)
    if reason:
        return {**row, "not_run": reason}
    T = float(recipe.temperatures_K[0])
    try:
        model_dir, timing = train(project, data, backend, preset, args, rows_dir / f"{backend}_{preset}.train.json")
        row.update(timing, settings_epochs=timing["settings"]["max_epochs"])
        row["test"] = test_errors(model_dir)
        row.update(run_md(model_dir, box, T, args))
        if args.native_steps > 0:
            row.update(native_speed(backend, model_dir, box, args.native_steps, rows_dir / f"speed_{backend}_{preset}"))
    except Exception as exc:  # a backend that fails is a row saying so, the others still run
        log.exception("%s/%s failed", backend, preset)
        row["failed"] = f"{type(exc).__name__}: {str(exc)[:400]}"
        write_json_atomic(path, row, indent=1)
        return row
    write_json_atomic(path, row, indent=1)
    return row


def _f(v, fmt="{:.3g}"):
    return "-" if v is None else fmt.format(v)


def table(doc: dict) -> str:
    """Markdown table of the rows (test RMSE per composition: energy meV/atom / forces meV/Å / stress meV/Å³)."""
    comps = doc["compositions"]
    head = ["backend", "preset", "epochs"] + [f"E/F/σ RMSE {c}" for c in comps] + [
        "train wall / CPU s", "runner atom-steps/s", "native atom-steps/s", "NPT steps done", "density g/cm³ (first → last frame)", " / ".join(f"{a}-{b}" for a, b in RDF_PAIRS) + " peak Å"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in doc["rows"]:
        if "not_run" in r or "failed" in r:
            msg = f"not run: {r['not_run']}" if "not_run" in r else f"failed: {' '.join(r['failed'].split())[:160]}"
            lines.append(f"| {r['backend']} | {r['preset']} | - | {msg} |" + " |" * (len(head) - 4))
            continue
        errs = [r["test"].get(c) for c in comps] if "test" in r else [None] * len(comps)
        cells = [f"{_f(e['energy_rmse_meV_atom'])} / {_f(e['forces_rmse_meV_A'])} / {_f(e['stress_rmse_meV_A3'])}" if e else "-" for e in errs]
        stab = f"{r['md_steps_done']}/{r['md_steps_total']}" + ("" if r["md_status"] == "completed" else f" ({(r['md_problem'] or '')[:60]})")
        dens = _f(r.get("density_g_cm3"), "{:.3f}") + (f" ± {r['density_err_g_cm3']:.3f}" if r.get("density_err_g_cm3") else "")
        if r.get("density_start_end_g_cm3"):
            dens += " ({:.2f} → {:.2f})".format(*r["density_start_end_g_cm3"])
        epochs = "-" if r["preset"] == "zero_shot" or "settings_epochs" not in r else str(r["settings_epochs"])
        cost = f"{r['train_wall_s']:.0f} / {r['train_cpu_s']:.0f}" if "train_wall_s" in r else "-"
        lines.append("| " + " | ".join([r["backend"], r["preset"], epochs, *cells, cost,
                                         _f(r["md_atom_steps_s"], "{:.0f}"), _f(r.get("native_atom_steps_s"), "{:.0f}"), stab, dens,
                                         " / ".join(_f((r.get("rdf_peak_r_A") or {}).get(f"{a}-{b}"), "{:.2f}") for a, b in RDF_PAIRS)]) + " |")
    return "\n".join(lines)


def reanalysed(row: dict, out: Path, blocks: int) -> dict:
    """``row`` with the density and RDF peaks computed again from its kept MD run (analysis settings may change)."""
    outdir = out / "work" / "md" / ("reference" if row["backend"] == "reference" else f"bb_{row['backend']}_{row['preset']}")
    return {**row, **md_analysis(outdir, blocks)} if "md_status" in row else row


def presets_of(backend: str, presets: list[str]) -> list[str]:
    """sevenn: zero-shot and fine-tuned SevenNet-0 and SevenNet from scratch (those of ``presets`` when it
    names any); others: the size presets of ``presets``."""
    if backend == "sevenn":
        return [p for p in presets if p in SEVENN_PRESETS] or SEVENN_PRESETS
    return [p for p in presets if p not in SEVENN_PRESETS]


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--backends", nargs="+", default=ALL_BACKENDS, choices=ALL_BACKENDS)
    ap.add_argument("--presets", nargs="+", default=["small", "medium"], choices=["small", "medium", *SEVENN_PRESETS],
                    help="size presets; zero_shot / fine_tune select sevenn's rows (default both)")
    ap.add_argument("--pairs", type=int, default=4, help="ion pairs per box (4: 96 atoms neat)")
    ap.add_argument("--li-fraction", type=float, default=0.25, help="LiBF4 fraction of the second composition")
    ap.add_argument("--temperature-K", type=float, default=350.0)
    ap.add_argument("--cutoff-A", type=float, default=4.5, help="CL&P cutoff (< half the smallest box)")
    ap.add_argument("--sample-ps", type=float, default=30.0, help="CL&P sampling production per composition, ps")
    ap.add_argument("--frames", type=int, default=30, help="MD snapshots labelled per composition (+ rattled, volume scan)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--sevenn-epochs", type=int, default=None, help="epochs of the sevenn fine_tune and scratch presets (default --epochs)")
    ap.add_argument("--threads", type=int, default=1, help="threads of the env backends' processes")
    ap.add_argument("--md-ps", type=float, default=0.5, help="NPT length (the fixed length of the stability check)")
    ap.add_argument("--timestep-fs", type=float, default=0.5)
    ap.add_argument("--save-every", type=int, default=10)
    ap.add_argument("--blocks", type=int, default=4, help="blocks of the density's standard error")
    ap.add_argument("--native-steps", type=int, default=20, help="steps of the native-path speed test (0: skip)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-reference", dest="reference", action="store_false",
                    help="leave out the reference row (the labels' own level through the same NPT run)")
    ap.add_argument("--force", action="store_true", help="redo rows already kept (tests, MD, speed; models are reused)")
    ap.add_argument("--retrain", action="store_true", help="train again even when a model of the same settings is kept")
    ap.add_argument("--table-only", action="store_true")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.table_only:  # every kept row, whatever run made it
        doc = json.loads((out / "backends.json").read_text())
        kept = [out / "rows" / "reference.json"] + [out / "rows" / f"{b}_{p}.json" for b in ALL_BACKENDS
                                                    for p in presets_of(b, ["small", "medium"])]
        doc["rows"] = [reanalysed(json.loads(f.read_text()), out, args.blocks) for f in kept if f.is_file()]
        write_json_atomic(out / "backends_all.json", doc, indent=1)
        print(table(doc))
        return 0
    project, recipe, data = make_data(out, args)
    comps = sorted({str(a.info.get(keys.COMPOSITION_ID)) for a in data.frames})
    box = md_box(project, recipe)
    rows_dir = out / "rows"
    rows_dir.mkdir(exist_ok=True)
    rows = [reference_row(project, recipe, box, args, rows_dir)] if args.reference else []
    rows += [one_row(project, recipe, data, box, b, p, args, rows_dir) for b in args.backends for p in presets_of(b, args.presets)]
    doc = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "n_frames": len(data.frames),
           "atoms_per_frame": sorted({len(a) for a in data.frames}), "compositions": ["all", *comps],
           "level_of_theory": data.level_of_theory, "md_box_atoms": len(box), "rows": rows}
    write_json_atomic(out / "backends.json", doc, indent=1)
    print(f"{len(data.frames)} frames ({doc['atoms_per_frame']} atoms) at {data.level_of_theory}; compositions {comps}; "
          f"NPT {args.md_ps:g} ps at {args.timestep_fs:g} fs, {len(box)} atoms, {args.temperature_K:g} K, 1 bar")
    print(table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
