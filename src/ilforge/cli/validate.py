"""``ilforge validate [RECIPE] --workdir DIR``: errors of a trained model, per group, with parity plots."""

from __future__ import annotations

from ilforge.cli._args import checked_workdir, int_list
from ilforge.cli._training_args import recipe_or_none

VERB = "validate"
HELP = "error metrics (energy, forces, stress; per composition, temperature, config type) and parity plots"
ORDER = 55


def register(parser):
    parser.add_argument("recipe", nargs="?", help="recipe.yaml (default: WORKDIR/recipe.yaml if present)")
    parser.add_argument("--workdir", required=True, help="project directory (models/NAME; results/ is written)")
    parser.add_argument("--model", help="model name under WORKDIR/models, or a model directory (default: the recipe's "
                        "training.model_name, mlip)")
    parser.add_argument("--frames", help="labelled extxyz to evaluate (default: the model's held-out test.extxyz)")
    parser.add_argument("--level-of-theory", help="which labels of --frames to use when there are several")
    parser.add_argument("--no-plots", action="store_true", help="skip the parity plots")
    parser.add_argument("--learning-curve", type=int_list, help="also train on these numbers of frames (e.g. 10,20,40) and plot errors vs n")
    parser.set_defaults(func=run)


def _print_block(title: str, b: dict) -> None:
    line = (f"{title:>28}: n={b['n_frames']:4d}  E MAE {b['energy_mae_meV_atom']:9.3f} RMSE {b['energy_rmse_meV_atom']:9.3f} meV/atom   "
            f"F MAE {b['forces_mae_meV_A']:8.2f} RMSE {b['forces_rmse_meV_A']:8.2f} meV/Å")
    if "stress_mae_meV_A3" in b:
        line += f"   S MAE {b['stress_mae_meV_A3']:.3f} meV/Å³"
    print(line)


def _print_result(name: str, res: dict, path) -> None:
    what = res.get("model") or f"committee of {len(res['members'])} (mean prediction)"
    print(f"{name}: {what} on {res['n_frames']} frames")
    _print_block("overall", res["overall"])
    for key in ("by_composition_id", "by_temperature_K", "by_config_type"):
        if key in res and len(res[key]) > 1:
            for g, b in res[key].items():
                _print_block(f"{key[3:]}={g}", b)
    fe = res["overall"]["forces_by_element"]
    print("  force MAE by element / meV/Å: " + ", ".join(f"{el} {v['mae_meV_A']:.1f}" for el, v in fe.items()))
    sp = res.get("spread")
    if sp:
        rho = "n/a" if sp["spread_error_spearman"] is None else f"{sp['spread_error_spearman']:.2f}"
        print(f"  spread: energy {sp['energy_std_mean_meV_atom']:.3f} meV/atom, forces {sp['forces_std_mean_meV_A']:.2f} meV/Å; "
              f"Spearman(spread, |energy error|) = {rho}")
    print(f"  results: {path}")


def run(args) -> int:
    from ilforge.errors import IlforgeError
    from ilforge.project import Project
    from ilforge.validate.stage import run_validate

    project = Project(checked_workdir(args.workdir, must_exist=True))
    res = run_validate(project, recipe_or_none(args.recipe, project), model_name=args.model, frames_file=args.frames,
                       level_of_theory=args.level_of_theory, plots=not args.no_plots)
    if res.skipped:
        raise IlforgeError(res.skipped)
    for name, doc in res.results.items():
        _print_result(name, doc, project.results(name))
    if args.learning_curve:
        _learning_curve(args, project, res)
    return 0


def _learning_curve(args, project, res) -> None:
    from ilforge.validate.learning_curve import model_learning_curve
    from ilforge.validate.stage import validation_frames

    committee, frames = validation_frames(project, args.model or res.model_name, args.frames, args.level_of_theory)
    sizes = args.learning_curve
    curve = model_learning_curve(project, committee.members[0], frames, sizes)
    for p in curve["points"]:
        print(f"  n_train={p['n_train']:4d}: energy MAE {p['energy_mae_meV_atom']:.3f} meV/atom, force MAE {p['forces_mae_meV_A']:.2f} meV/Å")
    print(f"  learning curve: {curve['plot']}")
