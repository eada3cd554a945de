"""The stages of ``ilforge run``: each a thin call into the library that returns a JSON-able
summary. Their order and the recipe sections each one reads are in :data:`STAGES`; resumability
comes from :mod:`ilforge.pipeline` (skip stages whose inputs did not change) and from the stages
themselves (boxes, labels, models and MD checkpoints already on disk are kept).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ilforge.pipeline import Stage

log = logging.getLogger(__name__)

MODEL_NAME = "mace"


def _results(workdir: Path) -> Path:
    out = Path(workdir) / "results"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write(path: Path, doc) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(path)


def plan_stage(recipe, workdir: Path) -> dict:
    from ilforge.plan.planner import plan_recipe

    plan = plan_recipe(recipe).to_dict()
    _write(_results(workdir) / "plan.json", plan)
    return {k: plan[k] for k in ("required_compositions", "training_rank", "spans_targets", "recommended")}


def build_stage(recipe, workdir: Path) -> dict:
    from ilforge.build.box import build_boxes

    paths = build_boxes(recipe, workdir)
    return {"boxes": [p.name for p in paths]}


def sample_stage(recipe, workdir: Path) -> dict:
    from ilforge.sample.runner import sample_recipe

    out = sample_recipe(recipe, workdir)
    return {
        "runs": [
            {"composition_id": s.composition_id, "temperature_K": s.temperature_K, "n_frames": s.n_frames,
             "mean_density_g_cm3": s.mean_density_g_cm3, "ns_per_day": s.ns_per_day}
            for s in out
        ]
    }


def label_stage(recipe, workdir: Path) -> dict:
    from ilforge.reference.labelling import run_stage

    summary = run_stage(recipe, workdir)
    _write(_results(workdir) / "labels.json", summary)
    return {k: summary[k] for k in ("level_of_theory", "done_this_run", "failed_this_run", "status")}


def level_of_theory(recipe, workdir: Path) -> str:
    """The recipe's level of theory (so training never mixes labels from another level)."""
    from ilforge.reference.registry import make_labeler

    return make_labeler(recipe.labels, recipe, workdir).level_of_theory


def train_stage(recipe, workdir: Path) -> dict:
    from ilforge.models.data import load_labelled
    from ilforge.models.train import train_project

    data = load_labelled(workdir, None, level_of_theory(recipe, workdir))
    settings = recipe.training
    if settings.seed is None:
        settings = settings.model_copy(update={"seed": recipe.seed})
    arts = train_project(settings, data, workdir, MODEL_NAME)
    return {
        "n_frames": len(data.frames),
        "level_of_theory": data.level_of_theory,
        "models": [str(a.directory) for a in arts],
        "valid": [a.info.get("metrics_valid") for a in arts],
    }


def _members(workdir: Path):
    from ilforge.models.committee import load_committee

    return load_committee(Path(workdir) / "models" / MODEL_NAME)


def validate_stage(recipe, workdir: Path) -> dict:
    from ilforge.models.data import read_frames_file
    from ilforge.models.train import TEST_FILE
    from ilforge.validate.evaluate import validate_committee, validate_model

    members = _members(workdir)
    test_file = Path(workdir) / "models" / MODEL_NAME / TEST_FILE
    if not test_file.is_file():
        return {"skipped": "no held-out test frames (training.test_fraction is 0 or too few frames)"}
    frames = read_frames_file(test_file)
    results = _results(workdir)
    device = recipe.training.device
    if len(members) == 1:
        res = validate_model(members[0], frames, results, device=device, tag=MODEL_NAME)
    else:
        res = validate_committee(members, frames, results, MODEL_NAME, device=device)
    return {"n_frames": len(frames), "overall": {k: v for k, v in res["overall"].items() if not isinstance(v, dict)}}


def md_compositions(recipe) -> list:
    """Compositions that ``ilforge run`` runs MD on (see ``md.compositions``)."""
    comps = recipe.resolve_compositions()
    refs = recipe.md.compositions
    if refs is None:
        refs = recipe.training_compositions or [c.id for c in comps]
    return [recipe.composition_by_ref(r, comps) for r in refs]


def md_start(workdir: Path, recipe, composition_id: str, temperature_K: float) -> Path:
    """Starting structure of MLIP MD: the last classical snapshot sampled nearest this temperature
    (equilibrated, like the training data), else the packed box."""
    from ase.io import read, write

    from ilforge.build.box import box_filename
    from ilforge.sample.runner import run_name

    T_near = min(recipe.temperatures_K, key=lambda t: abs(t - temperature_K))
    sampled = workdir / "sampled" / f"{run_name(composition_id, T_near)}.extxyz"
    if sampled.is_file():
        start = workdir / "md" / composition_id / f"start_{T_near:g}K.extxyz"
        if not start.is_file():
            start.parent.mkdir(parents=True, exist_ok=True)
            frames = [a for a in read(sampled, ":") if a.info.get("config_type") == "classical_md"]
            write(start, frames[-1] if frames else read(sampled, -1))
        return start
    return workdir / "boxes" / box_filename(composition_id, T_near)


def md_stage(recipe, workdir: Path) -> dict:
    from ilforge.md.calculators import CalculatorSpec
    from ilforge.md.runner import run_state_points, state_points

    workdir = Path(workdir)
    members = _members(workdir)
    model = ",".join(str(m.model_file) for m in members)
    settings = recipe.md
    calc = CalculatorSpec(model, settings.device, settings.default_dtype)
    temps = settings.temperatures_K or recipe.temperatures_K
    out = []
    for comp in md_compositions(recipe):
        for T in temps:
            box = md_start(workdir, recipe, comp.id, T)
            points = state_points(settings, [T], settings.pressures_bar if settings.ensemble == "npt" else None)
            for r in run_state_points(box, calc, settings, workdir / "md" / comp.id, points):
                out.append({"composition_id": comp.id, **{k: r[k] for k in ("state", "status", "problem", "steps_done",
                                                                          "steps_total", "atom_steps_per_s", "production")}})
    _write(_results(workdir) / "md.json", out)
    stopped = [r for r in out if r["status"] != "completed"]
    return {"runs": len(out), "stopped": [f"{r['composition_id']} {r['state']}: {r['problem']}" for r in stopped]}


def analyze_stage(recipe, workdir: Path) -> dict:
    from ilforge.analysis.driver import analyze_runs
    from ilforge.experiment.compare import compare, predictions_from_analysis
    from ilforge.experiment.densities import experiment_system

    workdir = Path(workdir)
    results = _results(workdir)
    summary = {}
    for comp in md_compositions(recipe):
        runs = sorted(p.parent for p in (workdir / "md" / comp.id).glob("*/production.h5"))
        done = [p for p in runs if json.loads((p / "run.json").read_text()).get("status") == "completed"]
        if len(done) < len(runs):
            log.warning("%s: %d MD run(s) stopped by a monitor are not analysed", comp.id, len(runs) - len(done))
        if not done:
            summary[comp.id] = {"runs": 0, "skipped": "no completed MD run (see the md stage)"}
            continue
        system = recipe.analysis.experiment_system or experiment_system(comp.counts)
        doc = analyze_runs(done, recipe.analysis, system=system)
        doc["system"] = system
        _write(results / f"analysis_{comp.id}.json", doc)
        rows = compare(system, predictions_from_analysis(doc)) if system else []
        _write(results / f"compare_{comp.id}.json", {"system": system, "rows": rows})
        summary[comp.id] = {"runs": len(done), "system": system, "compared": sum(r["experiment"] is not None for r in rows)}
    return summary


def report_stage(recipe, workdir: Path) -> dict:
    from ilforge.report.build import write_report

    path = write_report(workdir)
    return {"report": str(path)}


STAGES: list[Stage] = [
    Stage("plan", ("components", "species", "box", "scan", "compositions", "training_compositions"), plan_stage,
          "composition planner"),
    Stage("build", ("seed", "species", "components", "box", "temperatures_K", "scan", "compositions"), build_stage,
          "packed boxes"),
    Stage("sample", ("forcefield", "sampling", "pressure_bar"), sample_stage, "classical MD sampling"),
    Stage("label", ("labels",), label_stage, "reference labels"),
    Stage("train", ("training",), train_stage, "MLIP training"),
    Stage("validate", (), validate_stage, "test-set errors"),
    Stage("md", ("md",), md_stage, "MLIP molecular dynamics"),
    Stage("analyze", ("analysis",), analyze_stage, "properties vs experiment"),
    Stage("report", (), report_stage, "HTML report"),
]
