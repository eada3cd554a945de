"""Command-line overrides of the recipe's ``training`` settings, shared by train / transfer."""

from __future__ import annotations

import yaml

from ilforge.cli._args import positive_int
from ilforge.errors import IlforgeError


def add_training_overrides(parser) -> None:
    parser.add_argument("--preset", choices=["small", "medium", "large"], help="model size (default: the recipe's)")
    parser.add_argument("--max-epochs", type=positive_int, help="training epochs (default: the recipe's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training setting, e.g. --set batch_size=2 --set learning_rate=0.005 "
                        "(YAML values; repeatable)")


def training_overrides(args) -> dict:
    """The command line's training overrides as a dict (validated by the stage with the backend's settings)."""
    out: dict = {}
    if getattr(args, "preset", None):
        out["preset"] = args.preset
    if getattr(args, "max_epochs", None):
        out["max_epochs"] = args.max_epochs
    for item in getattr(args, "overrides", []) or []:
        if "=" not in item:
            raise IlforgeError(f"--set {item!r}: expected KEY=VALUE, e.g. --set batch_size=2")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise IlforgeError(f"--set {item!r}: the value is not valid YAML ({exc}); quote it, e.g. --set 'key=\"text\"'") from None
    return out


def check_overrides(recipe, overrides: dict) -> None:
    """Validate the overrides against the recipe's (or the default) training settings before any work
    starts: each value by the backend's settings, and the split fractions together."""
    from ilforge.models.registry import apply_overrides, settings_from_dict
    from ilforge.recipe import check_split_fractions

    base = recipe.training if recipe is not None else settings_from_dict({})
    check_split_fractions(apply_overrides(base, overrides), "training settings with the command-line overrides")


def recipe_or_none(recipe_path, project):
    """The recipe named on the command line, else the project's copy when there is one, else None."""
    from ilforge.recipe import load_recipe

    if recipe_path:
        return load_recipe(recipe_path)
    return load_recipe(project.recipe_copy) if project.recipe_copy.is_file() else None
