"""``ilforge transfer RECIPE --workdir DIR``: the composition-transferability study (Goodwin et al. 2024, Fig. 1)."""

from __future__ import annotations

from ilforge.cli._args import checked_workdir, fraction, positive_int
from ilforge.cli._training_args import add_training_overrides, check_overrides, training_overrides

VERB = "transfer"
HELP = "train one model per set of training compositions and evaluate each on every composition"
ORDER = 62


def _parse_sets(text: str) -> list[list]:
    """``'0.5;0.4,0.6'`` -> ``[[0.5], [0.4, 0.6]]``; an empty set is an error."""
    from ilforge.errors import IlforgeError

    out = []
    for group in text.split(";"):
        items = [g.strip() for g in group.split(",") if g.strip()]
        if not items:
            raise IlforgeError(f"--sets {text!r}: a training set is empty; write sets as '0.5;0.4,0.6' "
                               f"(';' between sets, ',' within a set; scan values or composition ids)")
        out.append([float(i) if _is_float(i) else i for i in items])
    return out


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def register(parser):
    parser.add_argument("recipe", help="recipe.yaml (its compositions; a scan gives the default training sets)")
    parser.add_argument("--workdir", required=True, help="project directory (frames.db; models/ and results/ are written)")
    parser.add_argument("--frames", help="labelled frames as extxyz instead of the frame store")
    parser.add_argument("--level-of-theory", help="which labels to use when there are several")
    parser.add_argument("--sets", help="training sets: ';' between sets, ',' within: '0.5;0.0,0.1;0.4,0.6' (scan values or ids); "
                        "default: {0.5}, {0.0,0.1}, {0.0,0.1,0.2}, {0.0,1.0}, {0.4,0.6}")
    add_training_overrides(parser)
    parser.add_argument("--test-fraction", type=fraction, help="fraction of each composition's frames held out for testing")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/valid/test split")
    parser.add_argument("--workers", type=positive_int, default=1, help="models trained in parallel (local processes)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.validate.transfer import run_transfer

    sets = _parse_sets(args.sets) if args.sets is not None else None
    recipe = load_recipe(args.recipe)
    project = Project(checked_workdir(args.workdir, must_exist=not args.frames))
    overrides = training_overrides(args)
    if args.test_fraction is not None:
        overrides["test_fraction"] = args.test_fraction
    check_overrides(recipe, overrides)
    res = run_transfer(project, recipe, sets=sets, frames_file=args.frames, level_of_theory=args.level_of_theory,
                       overrides=overrides, seed=args.seed, workers=args.workers)
    _print(res.results, project)
    return 0


def _print(res: dict, project) -> None:
    from ilforge.project import TRANSFER

    comps_out = res["compositions"]
    print("energy MAE / meV/atom (rows: training set; columns: " + " ".join(comps_out) + ")")
    for s, row in zip(res["training_sets"], res["energy_mae_meV_atom"]):
        print(f"{s['name']:>24} " + " ".join("   -  " if v is None else f"{v:6.2f}" for v in row) + f"   {'spans' if s.get('spans') else 'does not span'}")
    print("force MAE / meV/Å")
    for s, row in zip(res["training_sets"], res["forces_mae_meV_A"]):
        print(f"{s['name']:>24} " + " ".join("   -  " if v is None else f"{v:6.1f}" for v in row))
    for s in res["training_sets"]:
        print(f"{s['name']}: {s.get('verdict', '')}")
    print(f"results: {project.results(TRANSFER)}")
