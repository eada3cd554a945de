"""Does active learning earn its keep? Learned vs random selection at the same label budget (issue 13).

Two compositions of LiBF4 in EMIM-BF4 (x = 0.25, 78 atoms; x = 0.5, 60 atoms; 4 formula units),
CL&P sampling and CL&P (classical) labels, so everything runs on a CPU:

1. ``ilforge run`` up to ``label``: classical MD per composition, ``--initial`` labelled frames in all.
2. ``ilforge learn`` (``run_learn``): committees of ``--committee`` tiny MACE models (``--channels``
   channels, r_max 4.5 Å: under half the ~9.1 Å box, float32, ``--epochs`` epochs: the validation force
   error plateaus), exploration MD at every state point, ``--per-gen`` frames selected and labelled per
   generation up to ``--budget``. Per generation: the spread distribution of the exploration pool
   (ε = max over atoms of the committee's force standard deviation), MD steps completed per state point,
   the monitor that fired, and the committee's force RMSE on the fixed test set per composition.
3. Random selection, ``--n-random`` seeds: as many frames as the loop labelled, drawn at random from the
   same exploration pool (every intact frame the loop's exploration MD saved in the generations that
   selected; the learned frames included, the starting structures excluded), same labeler.
4. Learned = member 0 of the loop's last committee (trained on initial + learned frames); each random set
   (initial + random) trains one model with exactly the same settings and seed. All are tested on a fixed
   test set (classical snapshots of both compositions that no model trained on, labelled classically) and
   run ``--md-ps`` of MD at every state point (stable = no monitor fired).

The trust window must cut through the spreads the committees show (a window below all of them selects by
diversity alone, one above all of them selects nothing but failure frames): generation 0 of this setup
(24 frames, 80 epochs) showed ε between 0.2 and 0.6 eV/Å (10th to 100th percentile, /work/s5/al_section.md),
hence ``--trust-low 0.25``; the printed per-generation quantiles say whether it still fits.

Prints the tables and writes ``WORKDIR/active_learning.json``. Estimated cost on an idle 2-core machine
(0.05 CPU-s per frame and epoch for the 8-channel model): about 30 min of CPU. Example::

    python benchmarks/active_learning.py --workdir /tmp/al-bench
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import yaml

from ilforge import keys


def recipe_dict(args) -> dict:
    return {
        "name": "al_bench", "seed": args.seed,
        "components": {"LiBF4": {"Li": 1, "BF4": 1}, "EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": 4}, "temperatures_K": [350.0],
        "compositions": [{"id": "x0.25", "fractions": {"LiBF4": 0.25, "EMIM_BF4": 0.75}},
                         {"id": "x0.50", "fractions": {"LiBF4": 0.5, "EMIM_BF4": 0.5}}],
        "training_compositions": ["x0.25", "x0.50"],
        "forcefield": {"type": "clandp", "cutoff_A": 4.0},
        "sampling": {"equilibration_ps": 2, "production_ps": args.sample_ps, "interval_ps": args.sample_ps / 24},
        "labels": {"labeler": "classical", "frames_per_composition": args.initial // 2, "config_types": ["classical_md"],
                   "strategies": {"volume_scan": {"percent": []}}},
        "reference_check": {"enabled": False},
        "training": {"preset": "small", "num_channels": args.channels, "r_max_A": 4.5, "max_epochs": args.epochs,
                     "batch_size": 4, "learning_rate": args.lr, "valid_fraction": 0.1, "test_fraction": 0.0,
                     "dtype": "float32", "stress_weight": 0.0},
        "md": {"ensemble": "nvt", "timestep_fs": 0.5, "default_dtype": "float32"},
        "learning": {"generations": args.generations, "committee_size": args.committee, "initial_frames": args.initial,
                     "frames_per_generation": args.per_gen, "max_labels": args.budget, "md_ps": args.explore_ps,
                     "save_every_steps": 10, "trust_low_eV_A": args.trust_low, "trust_high_eV_A": args.trust_high,
                     "converged_fraction": args.converged_fraction, "cut_back_steps": 20, "failure_frames": 2,
                     "extra_temperatures_K": args.extra_T},
    }


def exploration_pool(project, name: str, generations: list[dict], break_factor: float, known: set[str]) -> list:
    """Every frame the loop's exploration MD saved in the generations that selected frames, molecules intact,
    not among ``known`` (hashes of frames in the store before the loop: the starting structures)."""
    from ilforge.learn.loop import ExplorationPoint, broken_molecules, run_frames
    from ilforge.store.hashing import frame_hash

    pool = []
    for g in generations:
        if not g.get("selected"):
            continue
        for r in g["runs"]:
            p = ExplorationPoint(r["composition_id"], r["temperature_K"], r["pressure_bar"], "")
            fr = run_frames(project.exploration_run(name, g["generation"], p.composition_id, p.state.label), p)
            pool += [a for a, bad in zip(fr, broken_molecules(fr, break_factor)) if not bad and frame_hash(a) not in known]
    return pool


def label_frames(labeler, frames: list, lot: str) -> list:
    out = []
    for a in frames:
        try:
            lab = labeler.label(a)
        except Exception as exc:  # noqa: BLE001 - a frame the labeler refuses is lost, as in the loop
            print(f"label failed: {exc}")
            continue
        b = a.copy()
        b.info.update({keys.REF_ENERGY: float(lab.energy), keys.LEVEL_OF_THEORY: lot})
        b.arrays[keys.REF_FORCES] = np.asarray(lab.forces, dtype=float)
        if lab.stress is not None:
            b.info[keys.REF_STRESS] = np.asarray(lab.stress, dtype=float)
        out.append(b)
    return out


def test_set(project, labeler, lot: str, used: set[str], n_per_point: int) -> list:
    """Classical snapshots of every composition that no model trained on (the store's unlabelled sampled frames,
    evenly spaced over the sampling run)."""
    from ilforge.store.frames import FrameStore

    store = FrameStore.open(project.frames_db)
    frames = [a for a in store.frames(config_type=keys.CT_CLASSICAL_MD) if a.info[keys.FRAME_HASH] not in used]
    out = []
    for cid in sorted({str(a.info[keys.COMPOSITION_ID]) for a in frames}):
        mine = [a for a in frames if a.info[keys.COMPOSITION_ID] == cid]
        out += [mine[i] for i in np.unique(np.linspace(0, len(mine) - 1, n_per_point).astype(int))]
    return label_frames(labeler, out, lot)


def errors_by_composition(committee, frames: list) -> dict:
    """Force RMSE (meV/Å, committee mean) on ``frames``, per composition and over all."""
    from ilforge.learn.loop import test_errors

    cids = sorted({str(a.info[keys.COMPOSITION_ID]) for a in frames})
    out = {c: test_errors(committee, [a for a in frames if str(a.info[keys.COMPOSITION_ID]) == c])["forces_rmse_meV_A"]
           for c in cids}
    return {**out, "all": test_errors(committee, frames)["forces_rmse_meV_A"]}


def train_final(project, tag: str, frames: list, training, lot: str, iso: dict):
    from ilforge.models.committee import Committee
    from ilforge.models.data import LabelledData
    from ilforge.models.training import train_model

    d = project.model_dir(f"bench_{tag}")
    train_model(training.model_copy(update={"committee_size": 1}), LabelledData(frames, lot, dict(iso)), d)
    return Committee.load(d)


def md_stability(project, tag: str, committee, points, md_settings, md_ps: float, seed: int) -> list[dict]:
    """``md_ps`` of MD with ``committee`` at every state point: steps completed and the monitor that stopped it."""
    from ilforge.learn.loop import exploration_settings
    from ilforge.learn.settings import LearningSettings
    from ilforge.md.state_points import run_state_points

    settings = exploration_settings(md_settings, LearningSettings(md_ps=md_ps, save_every_steps=10))
    calc = committee.calculator_factory(settings.device, settings.default_dtype).to_dict()
    out = []
    for p in points:
        run = project.model_dir(f"bench_{tag}", "md", f"{p.composition_id}_{p.state.label}")
        res = run_state_points(p.start, calc, settings, [run], [p.state], seeds=[seed])[0]
        out.append(md_row(p.run, res.completed, res.steps_done, res.steps_total, res.problem))
    return out


def md_row(run: str, completed: bool, done: int, total: int, problem: str | None) -> dict:
    monitor = problem.split(":")[1].strip() if problem and problem.count(":") >= 2 else problem
    return {"run": run, "stable": bool(completed), "steps": f"{done}/{total}", "monitor": monitor, "problem": problem}


def cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def generation_rows(project, name: str, generations: list[dict], test: list) -> list[dict]:
    """Per generation: training frames, labels selected, spread distribution of the pool, MD per state point,
    and the committee's force RMSE on the fixed test set per composition."""
    from ilforge.models.committee import Committee

    rows = []
    for g in generations:
        committee = Committee.load(project.generation_dir(name, g["generation"]))
        rows.append({"generation": g["generation"], "n_train": g["n_train"], "phase": g["phase"],
                     "selected": len(g.get("selected") or []),
                     "reasons": sorted(s["reason"] for s in g.get("selected") or []),
                     "spread": g.get("spread_quantiles_eV_A"), "off_window_fraction": g.get("off_window_fraction"),
                     "md": [md_row(r["run"], r["status"] == "completed", r["steps_done"], r["steps_total"], r["problem"])
                            | {k: r[f"n_{k}"] for k in ("accurate", "candidate", "unphysical")} for r in g.get("runs", [])],
                     "test_force_rmse_meV_A": errors_by_composition(committee, test)})
    return rows


def compare(project, ctx, args, learned_frames: list, init_frames: list, pool: list, test: list, labeler) -> dict:
    """Learned (member 0 of the last committee) vs ``--n-random`` random draws of as many frames from ``pool``."""
    from ilforge.models.committee import Committee
    from ilforge.store.frames import FrameStore

    store = FrameStore.open(project.frames_db)
    lot, iso = ctx.level_of_theory, store.isolated_energies(ctx.level_of_theory)
    last = project.generation_dir(ctx.model_name, args.last_generation)
    learned = Committee.load(last / "member_0")
    rows = {"learned": {"labels": len(init_frames) + len(learned_frames), "test": errors_by_composition(learned, test),
                        "md": md_stability(project, "learned", learned, ctx.points, ctx.md, args.md_ps, args.seed)}}
    for r in range(args.n_random):
        rng = np.random.default_rng([args.seed, r])
        drawn = label_frames(labeler, [pool[i] for i in rng.choice(len(pool), size=len(learned_frames), replace=False)], lot)
        c = train_final(project, f"random_{r}", init_frames + drawn, ctx.training, lot, iso)
        rows[f"random_{r}"] = {"labels": len(init_frames) + len(drawn), "test": errors_by_composition(c, test),
                               "md": md_stability(project, f"random_{r}", c, ctx.points, ctx.md, args.md_ps, args.seed)}
    return rows


def print_tables(doc: dict, args) -> None:
    print(f"loop: {doc['loop']}; pool {doc['pool']} frames; test set {doc['n_test']} frames")
    print("generation  train  selected  spread p10/p50/p90/max (eV/Å)  off-window  test F RMSE x0.25/x0.50 (meV/Å)  MD")
    for g in doc["generations"]:
        s = g["spread"] or {}
        q = "/".join(f"{s.get(k, float('nan')):.3f}" for k in ("p10", "p50", "p90", "max"))
        t = g["test_force_rmse_meV_A"]
        md = ", ".join(f"{m['run']} {m['steps']}{'' if m['stable'] else ' ' + str(m['monitor'])}" for m in g["md"])
        print(f"{g['generation']:10d} {g['n_train']:6d} {g['selected']:9d}  {q:30s} {g['off_window_fraction'] or 0:10.2f}"
              f"  {t.get('x0.25', 0):7.1f} / {t.get('x0.50', 0):7.1f}  {md}")
    print(f"{'selection':10s} {'labels':>6s}  test F RMSE x0.25 / x0.50 / all (meV/Å)  MD ({args.md_ps:g} ps per state point)")
    for tag, r in doc["results"].items():
        md = ", ".join(f"{m['run']} {m['steps']}{'' if m['stable'] else ' ' + str(m['monitor'])}" for m in r["md"])
        t = r["test"]
        print(f"{tag:10s} {r['labels']:6d}  {t['x0.25']:7.1f} / {t['x0.50']:7.1f} / {t['all']:7.1f}  {md}")
    rnd = [r["test"]["all"] for k, r in doc["results"].items() if k.startswith("random")]
    if rnd:
        print(f"random mean ± std over {len(rnd)} draws: {np.mean(rnd):.1f} ± {np.std(rnd, ddof=1) if len(rnd) > 1 else 0:.1f} meV/Å "
              f"(min {min(rnd):.1f}, max {max(rnd):.1f}); learned {doc['results']['learned']['test']['all']:.1f}")
    print(f"wall s: {doc['wall_s']}; cpu s: {doc['cpu_s']}")


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/al-bench")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--initial", type=int, default=24, help="initial labelled frames (both compositions)")
    ap.add_argument("--budget", type=int, default=16, help="labels the loop may add")
    ap.add_argument("--per-gen", type=int, default=8)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--committee", type=int, default=3)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--sample-ps", type=float, default=12.0)
    ap.add_argument("--explore-ps", type=float, default=0.25)
    ap.add_argument("--extra-T", type=float, nargs="*", default=[], help="extra exploration temperatures, K")
    ap.add_argument("--md-ps", type=float, default=0.5, help="MD of each final model per state point")
    ap.add_argument("--trust-low", type=float, default=0.25,
                    help="eV/Å; generation 0's spreads (8-channel members, 24 frames) lie around 0.2-0.6")
    ap.add_argument("--trust-high", type=float, default=1.0)
    ap.add_argument("--converged-fraction", type=float, default=0.05)
    ap.add_argument("--test-per-point", type=int, default=10)
    ap.add_argument("--n-random", type=int, default=3, help="random draws (seeds) compared with the learned set")
    ap.add_argument("--loop-only", action="store_true", help="stop after the loop (print its generations)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    from ilforge.learn.stage import learn_context, run_learn
    from ilforge.pipeline import run_stages
    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.reference.stage import build_labeler
    from ilforge.store.frames import FrameStore

    t0, c0 = time.perf_counter(), cpu_s()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.yaml").write_text(yaml.safe_dump(recipe_dict(args), sort_keys=False))
    recipe = load_recipe(work / "bench.yaml")
    project = Project.init(work / "work", work / "bench.yaml")
    run_stages(recipe, project, only=["plan", "build", "check", "sample", "label"])
    t_data, c_data = time.perf_counter() - t0, cpu_s() - c0
    store = FrameStore.open(project.frames_db)
    known = {a.info[keys.FRAME_HASH] for a in store.frames() if a.info.get(keys.CONFIG_TYPE) != keys.CT_ACTIVE_LEARNING}
    result = run_learn(project, recipe)
    t_learn, c_learn = time.perf_counter() - t0 - t_data, cpu_s() - c0 - c_data
    ctx = learn_context(project, recipe)
    lot, name = ctx.level_of_theory, ctx.model_name
    labelled = store.labelled_frames(level_of_theory=lot)
    initial = set(json.loads(project.learn_state(name).read_text())["initial"])
    init_frames = [a for a in labelled if a.info[keys.FRAME_HASH] in initial]
    learned = [a for a in labelled if a.info.get(keys.CONFIG_TYPE) == keys.CT_ACTIVE_LEARNING]
    labeler = build_labeler(project, recipe)
    pool = exploration_pool(project, name, result.record.generations, ctx.settings.bond_break_factor, known)
    test = test_set(project, labeler, lot, {a.info[keys.FRAME_HASH] for a in labelled}, args.test_per_point)
    args.last_generation = result.record.generations[-1]["generation"]
    doc = {"args": vars(args), "loop": result.summary(), "pool": len(pool), "n_test": len(test),
           "generations": generation_rows(project, name, result.record.generations, test), "results": {}}
    if not args.loop_only:
        doc["results"] = compare(project, ctx, args, learned, init_frames, pool, test, labeler)
    doc["wall_s"] = {"data": round(t_data), "learn": round(t_learn), "total": round(time.perf_counter() - t0)}
    doc["cpu_s"] = {"data": round(c_data), "learn": round(c_learn), "total": round(cpu_s() - c0)}
    (work / "active_learning.json").write_text(json.dumps(doc, indent=1, default=str))
    print_tables(doc, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
