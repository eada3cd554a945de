"""``ilforge validate [RECIPE] --workdir DIR``: errors of a trained model, per group, with parity plots."""

from __future__ import annotations

from pathlib import Path

VERB = "validate"
HELP = "error metrics (energy, forces, stress; per composition, temperature, config type) and parity plots"
ORDER = 55


def register(parser):
    parser.add_argument("recipe", nargs="?", help="recipe.yaml (only for --learning-curve settings; default WORKDIR/recipe.yaml)")
    parser.add_argument("--workdir", required=True, help="project directory (models/NAME; results/ is written)")
    parser.add_argument("--model", default="mace", help="model name under WORKDIR/models, or a model directory (default: mace)")
    parser.add_argument("--frames", help="labelled extxyz to evaluate (default: the model's held-out test.extxyz)")
    parser.add_argument("--level-of-theory", help="which labels of --frames to use when there are several")
    parser.add_argument("--no-plots", action="store_true", help="skip the parity plots")
    parser.add_argument("--learning-curve", help="also train on these numbers of frames (e.g. 10,20,40) and plot errors vs n")
    parser.set_defaults(func=run)


def _print_block(title: str, b: dict) -> None:
    line = (f"{title:>28}: n={b['n_frames']:4d}  E MAE {b['energy_mae_meV_atom']:9.3f} RMSE {b['energy_rmse_meV_atom']:9.3f} meV/atom   "
            f"F MAE {b['forces_mae_meV_A']:8.2f} RMSE {b['forces_rmse_meV_A']:8.2f} meV/Å")
    if "stress_mae_meV_A3" in b:
        line += f"   S MAE {b['stress_mae_meV_A3']:.3f} meV/Å³"
    print(line)


def run(args) -> int:
    from ilforge.errors import IlforgeError
    from ilforge.models.committee import load_committee
    from ilforge.models.data import load_labelled, read_frames_file
    from ilforge.models.train import TEST_FILE
    from ilforge.validate.evaluate import validate_committee, validate_model

    workdir = Path(args.workdir)
    model_dir = Path(args.model) if Path(args.model).is_dir() else workdir / "models" / args.model
    if not model_dir.is_dir():
        raise IlforgeError(f"no model {args.model!r}: {model_dir} does not exist (run `ilforge train --workdir {workdir}` first)")
    members = load_committee(model_dir)
    if args.frames:
        frames = load_labelled(None, args.frames, args.level_of_theory).frames
    else:
        test = model_dir / TEST_FILE
        if not test.is_file():
            raise IlforgeError(f"{test} not found: the model has no held-out test frames; give labelled frames with --frames FILE")
        frames = read_frames_file(test)
    results = workdir / "results"
    for k, art in enumerate(members):
        tag = model_dir.name if len(members) == 1 else f"{model_dir.name}_member_{k}"
        res = validate_model(art, frames, results, device=art.info.get("settings", {}).get("device", "cpu"), plots=not args.no_plots, tag=tag)
        print(f"model {art.directory} on {len(frames)} frames:")
        _print_block("overall", res["overall"])
        for key in ("by_composition_id", "by_temperature_K", "by_config_type"):
            if key in res and len(res[key]) > 1:
                for g, b in res[key].items():
                    _print_block(f"{key[3:]}={g}", b)
        fe = res["overall"]["forces_by_element"]
        print("  force MAE by element / meV/Å: " + ", ".join(f"{el} {v['mae_meV_A']:.1f}" for el, v in fe.items()))
        print(f"  results: {results / f'validate_{tag}.json'}")
    if len(members) > 1:
        res = validate_committee(members, frames, results, model_dir.name, device=members[0].info.get("settings", {}).get("device", "cpu"),
                                 plots=not args.no_plots)
        print(f"committee of {len(members)} (mean prediction):")
        _print_block("overall", res["overall"])
        sp = res["spread"]
        rho = "n/a" if sp["spread_error_spearman"] is None else f"{sp['spread_error_spearman']:.2f}"
        print(f"  spread: energy {sp['energy_std_mean_meV_atom']:.3f} meV/atom, forces {sp['forces_std_mean_meV_A']:.2f} meV/Å; "
              f"Spearman(spread, |energy error|) = {rho}")
        print(f"  results: {results / f'validate_{model_dir.name}_committee.json'}")
    if args.learning_curve:
        _learning_curve(args, members[0], frames, workdir, model_dir.name)
    return 0


def _learning_curve(args, art, test, workdir: Path, name: str) -> None:
    from ilforge.models.mace_backend import TRAIN_FILE, VALID_FILE
    from ilforge.models.data import read_frames_file
    from ilforge.models.settings import TrainingSettings
    from ilforge.validate.learning_curve import learning_curve

    sizes = [int(s) for s in args.learning_curve.split(",") if s.strip()]
    settings = TrainingSettings.model_validate(art.info["settings"])
    iso = {k: v for k, v in art.info["e0s"]["values_eV"].items()} if art.info["e0s"]["method"] == "isolated" else None
    curve = learning_curve(settings, read_frames_file(art.directory / TRAIN_FILE), read_frames_file(art.directory / VALID_FILE),
                           test, sizes, workdir, isolated_energies=iso, name=f"learning_curve_{name}")
    for p in curve["points"]:
        print(f"  n_train={p['n_train']:4d}: energy MAE {p['energy_mae_meV_atom']:.3f} meV/atom, force MAE {p['forces_mae_meV_A']:.2f} meV/Å")
    print(f"  learning curve: {curve['plot']}")
