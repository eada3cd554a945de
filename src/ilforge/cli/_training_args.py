"""Command-line overrides of the recipe's ``training`` settings, shared by train / transfer / validate."""

from __future__ import annotations

import yaml

from ilforge.errors import IlforgeError


def add_training_overrides(parser) -> None:
    parser.add_argument("--preset", choices=["small", "medium", "large"], help="model size (default: the recipe's)")
    parser.add_argument("--max-epochs", type=int, help="training epochs (default: the recipe's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training setting, e.g. --set batch_size=2 --set learning_rate=0.005 "
                        "(YAML values; repeatable)")


def training_settings(base, args):
    """``base`` (TrainingSettings) with the command-line overrides applied and validated."""
    from pydantic import ValidationError

    from ilforge.models.settings import TrainingSettings

    data = base.model_dump()
    if getattr(args, "preset", None):
        data["preset"] = args.preset
    if getattr(args, "max_epochs", None):
        data["max_epochs"] = args.max_epochs
    for item in getattr(args, "overrides", []) or []:
        if "=" not in item:
            raise IlforgeError(f"--set {item!r}: expected KEY=VALUE, e.g. --set batch_size=2")
        key, value = item.split("=", 1)
        data[key.strip()] = yaml.safe_load(value)
    try:
        return TrainingSettings.model_validate(data)
    except ValidationError as exc:
        raise IlforgeError(f"invalid training setting: {exc}") from exc
