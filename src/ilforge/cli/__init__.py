"""The ``ilforge`` command line. One module per verb, discovered automatically.

Each verb module in this package defines ``VERB`` (its name), ``HELP`` (one line), ``ORDER``
(its place in ``ilforge --help``) and ``register(parser)`` which adds its arguments and sets
``func`` (called with the parsed arguments; returns an exit code). Verb modules only parse,
call the library and print: no science lives here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from ilforge import __version__
from ilforge.errors import IlforgeError


def _verb_modules():
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "VERB") and hasattr(mod, "register"):
            mods.append(mod)
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.VERB))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ilforge",
        description=(
            "Build, validate and run machine-learned interatomic potentials for ionic liquids "
            "and concentrated electrolytes: recipe -> plan -> build -> sample -> label -> train "
            "-> validate -> md -> analyze -> report."
        ),
    )
    parser.add_argument("--version", action="version", version=f"ilforge {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for mod in _verb_modules():
        p = sub.add_parser(mod.VERB, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.register(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except IlforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed
        return 0
    except KeyboardInterrupt:
        print("interrupted: completed work is kept; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
