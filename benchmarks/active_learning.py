"""Does active learning earn its keep? Learned vs random selection at the same label budget (issue 13).

Two compositions of LiBF4 in EMIM-BF4 (x = 0.25, 78 atoms; x = 0.5, 60 atoms; 4 formula units),
CL&P sampling and CL&P (classical) labels, so everything runs on a CPU:

1. ``ilforge run`` up to ``label``: classical MD per composition, ``--initial`` labelled frames in all.
2. ``ilforge learn`` (``run_learn``): committees of ``--committee`` tiny MACE models, exploration MD at
   every state point, ``--per-gen`` frames selected and labelled per generation up to ``--budget``.
3. Random selection: the same number of frames drawn at random (seeded) from the same exploration
   pool (every frame the loop's exploration MD saved), labelled with the same labeler.
4. The initial + learned and initial + random sets each train one model with the same settings;
   both are evaluated on a fixed test set (classical snapshots of both compositions that no model
   trained on, labelled classically) and run ``--md-ps`` of MD at every state point (stable = no monitor fired).

Prints the table and writes ``WORKDIR/active_learning.json``. Example (about 20 min on 2 cores)::

    python benchmarks/active_learning.py --workdir /tmp/al-bench
"""

from __future__ import annotations

import argparse
import json
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
        "training": {"preset": "small", "num_channels": 16, "r_max_A": 4.5, "max_epochs": args.epochs, "batch_size": 2,
                     "learning_rate": 0.01, "valid_fraction": 0.15, "test_fraction": 0.1, "dtype": "float32",
                     "stress_weight": 0.0},
        "md": {"ensemble": "nvt", "timestep_fs": 0.5},
        "learning": {"generations": args.generations, "committee_size": args.committee, "initial_frames": args.initial,
                     "frames_per_generation": args.per_gen, "max_labels": args.budget, "md_ps": args.explore_ps,
                     "save_every_steps": 10, "trust_low_eV_A": args.trust_low, "trust_high_eV_A": args.trust_high,
                     "cut_back_steps": 20, "failure_frames": 2},
    }


def exploration_pool(project, name: str, generations: list[dict], break_factor: float) -> list:
    """Every frame the loop's exploration MD saved in the generations that selected frames, molecules intact
    (the frames the loop may select from)."""
    from ilforge.learn.loop import ExplorationPoint, broken_molecules, run_frames

    pool = []
    for g in generations:
        if not g.get("selected"):
            continue
        for r in g["runs"]:
            p = ExplorationPoint(r["composition_id"], r["temperature_K"], r["pressure_bar"], "")
            fr = run_frames(project.exploration_run(name, g["generation"], p.composition_id, p.state.label), p)
            pool += [a for a, bad in zip(fr, broken_molecules(fr, break_factor)) if not bad]
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


def test_set(project, recipe, labeler, lot: str, used: set[str], n_per_point: int) -> list:
    """Classical snapshots of every state point that no model trained on (the store's unlabelled sampled frames)."""
    from ilforge.store.frames import FrameStore

    store = FrameStore.open(project.frames_db)
    frames = [a for a in store.frames(config_type=keys.CT_CLASSICAL_MD) if a.info[keys.FRAME_HASH] not in used]
    out = []
    for cid in sorted({str(a.info[keys.COMPOSITION_ID]) for a in frames}):
        mine = [a for a in frames if a.info[keys.COMPOSITION_ID] == cid]
        out += [mine[i] for i in np.unique(np.linspace(0, len(mine) - 1, n_per_point).astype(int))]
    return label_frames(labeler, out, lot)


def train_final(project, tag: str, frames: list, training, lot: str, iso: dict):
    from ilforge.models.committee import Committee
    from ilforge.models.data import LabelledData
    from ilforge.models.training import train_model

    d = project.model_dir(f"bench_{tag}")
    train_model(training.model_copy(update={"committee_size": 1}), LabelledData(frames, lot, dict(iso)), d)
    return Committee.load(d)


def md_stability(project, tag: str, committee, points, md_settings, md_ps: float, seed: int) -> list[dict]:
    from ilforge.learn.loop import exploration_settings
    from ilforge.learn.settings import LearningSettings
    from ilforge.md.state_points import run_state_points

    settings = exploration_settings(md_settings, LearningSettings(md_ps=md_ps, save_every_steps=10))
    calc = committee.calculator_factory("cpu", "float64").to_dict()
    out = []
    for p in points:
        run = project.model_dir(f"bench_{tag}", "md", f"{p.composition_id}_{p.state.label}")
        res = run_state_points(p.start, calc, settings, [run], [p.state], seeds=[seed])[0]
        out.append({"run": p.run, "stable": res.completed, "steps": f"{res.steps_done}/{res.steps_total}",
                    "problem": res.problem})
    return out


def force_rmse_meV_A(committee, frames) -> float:
    from ilforge.learn.loop import test_errors

    return test_errors(committee, frames)["forces_rmse_meV_A"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/al-bench")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--initial", type=int, default=12, help="initial labelled frames (both compositions)")
    ap.add_argument("--budget", type=int, default=16, help="labels the loop may add")
    ap.add_argument("--per-gen", type=int, default=8)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--committee", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--sample-ps", type=float, default=12.0)
    ap.add_argument("--explore-ps", type=float, default=0.25)
    ap.add_argument("--md-ps", type=float, default=0.5, help="MD of each final model per state point")
    ap.add_argument("--trust-low", type=float, default=0.05)
    ap.add_argument("--trust-high", type=float, default=1.0)
    ap.add_argument("--test-per-point", type=int, default=6)
    args = ap.parse_args(argv)

    from ilforge.learn.stage import learn_context, run_learn
    from ilforge.pipeline import run_stages
    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.reference.stage import build_labeler
    from ilforge.store.frames import FrameStore

    t0 = time.perf_counter()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.yaml").write_text(yaml.safe_dump(recipe_dict(args), sort_keys=False))
    recipe = load_recipe(work / "bench.yaml")
    project = Project.init(work / "work", work / "bench.yaml")
    run_stages(recipe, project, only=["plan", "build", "check", "sample", "label"])
    t_data = time.perf_counter() - t0
    result = run_learn(project, recipe)
    t_learn = time.perf_counter() - t0 - t_data
    ctx = learn_context(project, recipe)
    store = FrameStore.open(project.frames_db)
    lot, name = ctx.level_of_theory, ctx.model_name
    labelled = store.labelled_frames(level_of_theory=lot)
    initial = set(json.loads(project.learn_state(name).read_text())["initial"])
    init_frames = [a for a in labelled if a.info[keys.FRAME_HASH] in initial]
    learned = [a for a in labelled if a.info.get(keys.CONFIG_TYPE) == keys.CT_ACTIVE_LEARNING]
    labeler = build_labeler(project, recipe)
    from ilforge.store.hashing import frame_hash

    pool = [a for a in exploration_pool(project, name, result.record.generations, ctx.settings.bond_break_factor)
            if frame_hash(a) not in store]  # as the loop: no frame already in the store
    rng = np.random.default_rng(args.seed)
    random = label_frames(labeler, [pool[i] for i in rng.choice(len(pool), size=len(learned), replace=False)], lot)
    used = {a.info[keys.FRAME_HASH] for a in labelled}
    test = test_set(project, recipe, labeler, lot, used, args.test_per_point)
    iso = store.isolated_energies(lot)
    rows = {}
    for tag, extra in (("learned", learned), ("random", random)):
        c = train_final(project, tag, init_frames + extra, ctx.training, lot, iso)
        rows[tag] = {"labels": len(init_frames) + len(extra), "test_force_rmse_meV_A": force_rmse_meV_A(c, test),
                     "md": md_stability(project, tag, c, ctx.points, ctx.md, args.md_ps, args.seed)}
    doc = {"args": vars(args), "loop": result.summary(), "generations": [
        {k: g.get(k) for k in ("generation", "n_train", "test", "stable", "off_window_fraction", "phase")} |
        {"selected": len(g.get("selected") or []), "runs": [(r["run"], r["status"], r["steps_done"]) for r in g.get("runs", [])]}
        for g in result.record.generations], "pool": len(pool), "n_test": len(test), "results": rows,
        "wall_s": {"data": t_data, "learn": t_learn, "total": time.perf_counter() - t0}}
    (work / "active_learning.json").write_text(json.dumps(doc, indent=1, default=str))
    print(f"loop: {doc['loop']}; pool {len(pool)} frames; test set {len(test)} frames")
    print(f"{'selection':10s} {'labels':>6s} {'test F RMSE / meV/Å':>20s}  MD stability ({args.md_ps:g} ps per state point)")
    for tag, r in rows.items():
        md = ", ".join(f"{m['run']} {'stable' if m['stable'] else 'stopped ' + m['steps']}" for m in r["md"])
        print(f"{tag:10s} {r['labels']:6d} {r['test_force_rmse_meV_A']:20.1f}  {md}")
    print(f"wall: {doc['wall_s']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
