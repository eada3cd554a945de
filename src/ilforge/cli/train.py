"""``ilforge train [RECIPE] --workdir DIR``: fit an MLIP (or a committee) to the labelled frames."""

from __future__ import annotations

from pathlib import Path

from ilforge.cli._training_args import add_training_overrides, training_settings

VERB = "train"
HELP = "train an MLIP (MACE) or a committee on the labelled frames"
ORDER = 50


def register(parser):
    parser.add_argument("recipe", nargs="?", help="recipe.yaml (its `training:` section); default: WORKDIR/recipe.yaml if present")
    parser.add_argument("--workdir", required=True, help="project directory (frame store frames.db; writes models/NAME)")
    parser.add_argument("--frames", help="labelled frames as extxyz instead of the frame store")
    parser.add_argument("--name", default="mace", help="model name: models/NAME (default: mace)")
    parser.add_argument("--level-of-theory", help="which labels to use when there are several")
    parser.add_argument("--committee", type=int, help="number of committee members (default: the recipe's committee_size)")
    parser.add_argument("--foundation", help="fine-tune this local foundation model (file or ilforge model directory)")
    parser.add_argument("--finetune", choices=["naive", "multihead"], help="fine-tuning mode (default: naive)")
    parser.add_argument("--workers", type=int, default=1, help="committee members trained in parallel (local processes)")
    add_training_overrides(parser)
    parser.set_defaults(func=run)


def base_settings(recipe_path: str | None, workdir: Path):
    from ilforge.models.settings import TrainingSettings
    from ilforge.recipe import load_recipe

    path = Path(recipe_path) if recipe_path else workdir / "recipe.yaml"
    if recipe_path or path.is_file():
        return load_recipe(path).training
    return TrainingSettings()


def run(args) -> int:
    from tqdm import tqdm

    from ilforge.models.data import load_labelled
    from ilforge.models.train import train_project

    workdir = Path(args.workdir)
    settings = training_settings(base_settings(args.recipe, workdir), args)
    update = {}
    if args.committee:
        update["committee_size"] = args.committee
    if args.foundation:
        update["foundation_model"] = args.foundation
    if args.finetune:
        update["finetune"] = args.finetune
    settings = settings.model_copy(update=update)
    data = load_labelled(workdir, args.frames, args.level_of_theory)
    print(f"training {settings.backend} ({settings.preset}) on {len(data.frames)} labelled frames at level {data.level_of_theory}")
    bar = tqdm(total=settings.committee_size, desc="models", unit="model")
    arts = train_project(settings, data, workdir, args.name, max_workers=args.workers, progress=lambda i, n, d: bar.update(1))
    bar.close()
    for a in arts:
        m = a.info["metrics_valid"]
        print(f"{a.directory}: E0s {a.info['e0s']['method']}, valid energy MAE {m['energy_mae_meV_atom']:.2f} meV/atom, "
              f"force MAE {m['forces_mae_meV_A']:.1f} meV/Å, {a.info['timings_s']['per_epoch']:.2f} s/epoch")
    return 0
