"""The ``ilforge`` command line. One module per verb, discovered automatically.

Each verb module in this package defines ``VERB`` (its name), ``HELP`` (one line), ``ORDER``
(its place in ``ilforge --help``) and ``register(parser)`` which adds its arguments and sets
``func`` (called with the parsed arguments; returns an exit code). Verb modules only parse,
call the library and print: no science lives here.

Exit codes (docs/errors.md): 0 success; 2 a usage or input error (bad argument, invalid recipe,
missing or corrupt file); 3 a run stopped by a monitor; 4 a batch finished with some items failed
(e.g. frames that could not be labelled); 1 an internal error (one line, and the traceback with
``--debug``); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback

from ilforge import __version__
from ilforge.cli._errors import exit_code, user_message
from ilforge.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED


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
            "and concentrated electrolytes: recipe -> plan -> build -> check -> sample -> label -> train "
            "-> validate -> md -> analyze -> report."
        ),
    )
    parser.add_argument("--version", action="version", version=f"ilforge {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an internal error")
    parser.add_argument("--allow-recipe-code", action="store_true",
                        help="allow code and commands named in the recipe to run (ase calculator imports, espresso "
                        "commands, CP2K raw input); same as ILFORGE_ALLOW_RECIPE_CODE=1; see docs/security.md")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for mod in _verb_modules():
        p = sub.add_parser(mod.VERB, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.register(p)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None):
    """Parsed arguments, or the exit code argparse chose (0 for --help/--version, 2 for a usage error)."""
    try:
        return parser.parse_args(argv), None
    except SystemExit as exc:  # argparse printed usage or help already
        code = exc.code if isinstance(exc.code, int) else EXIT_INPUT
        return None, code


def main(argv: list[str] | None = None) -> int:
    """Run one verb; every failure ends in one line on stderr and a documented exit code."""
    parser = build_parser()
    args, code = _parse(parser, list(sys.argv[1:] if argv is None else argv))
    if args is None:
        return code
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    from ilforge.progress import log_prefix

    logging.basicConfig(level=level, format=log_prefix() + "%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    if args.allow_recipe_code:
        from ilforge.trust import allow_recipe_code

        allow_recipe_code()
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and closed
        return 0
    except KeyboardInterrupt:
        print("interrupted: completed work is kept; run the same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place every failure is turned into an answer
        return _report(exc, args.debug)


def _report(exc: BaseException, debug: bool) -> int:
    """Print ``exc`` as one line (a user error) or one line plus the hint to rerun with --debug."""
    code = exit_code(exc)
    message = user_message(exc)
    if code == EXIT_INTERNAL:
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"internal error: {type(exc).__name__}: {message}", file=sys.stderr)
        if not debug:
            print("this is a bug in ilforge; rerun with --debug for the traceback and report it", file=sys.stderr)
        return code
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
