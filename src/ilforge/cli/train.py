"""``ilforge train [RECIPE] --workdir DIR``: fit an MLIP (or a committee) to the labelled frames."""

from __future__ import annotations

from ilforge.cli._args import checked_workdir, positive_int
from ilforge.cli._training_args import add_training_overrides, check_overrides, recipe_or_none, training_overrides

VERB = "train"
HELP = "train an MLIP or a committee on the labelled frames"
ORDER = 50


def register(parser):
    parser.add_argument("recipe", nargs="?", help="recipe.yaml (its `training:` section); default: WORKDIR/recipe.yaml if present")
    parser.add_argument("--workdir", required=True, help="project directory (frame store frames.db; writes models/NAME)")
    parser.add_argument("--frames", help="labelled frames as extxyz instead of the frame store")
    parser.add_argument("--name", help="model name: models/NAME (default: the recipe's training.model_name, mlip)")
    parser.add_argument("--level-of-theory", help="which labels to use (default: the recipe's labeler, or the one level present)")
    parser.add_argument("--committee", type=positive_int, help="number of committee members (default: the recipe's committee_size)")
    parser.add_argument("--foundation", help="fine-tune this local foundation model (file or ilforge model directory)")
    parser.add_argument("--finetune", choices=["naive", "multihead"], help="fine-tuning mode (default: naive)")
    parser.add_argument("--workers", type=positive_int, default=1, help="committee members trained in parallel (local processes)")
    add_training_overrides(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.models.stage import run_train
    from ilforge.project import Project

    project = Project(checked_workdir(args.workdir))
    overrides = training_overrides(args)
    for key, value in (("committee_size", args.committee), ("foundation_model", args.foundation), ("finetune", args.finetune)):
        if value:
            overrides[key] = value
    recipe = recipe_or_none(args.recipe, project)
    check_overrides(recipe, overrides)
    res = run_train(project, recipe, model_name=args.name, frames_file=args.frames,
                    level_of_theory=args.level_of_theory, workers=args.workers, overrides=overrides)
    print(f"trained {res.backend} model {res.model_name!r} on {res.n_frames} labelled frames at level {res.level_of_theory}")
    for a in res.artifacts:
        m = a.info["metrics_valid"]
        print(f"{a.directory}: E0s {a.info['e0s']['method']}, valid energy MAE {m['energy_mae_meV_atom']:.2f} meV/atom, "
              f"force MAE {m['forces_mae_meV_A']:.1f} meV/Å, {a.info['timings_s']['per_epoch']:.2f} s/epoch")
    return 0
