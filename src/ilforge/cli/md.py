"""``ilforge md [RECIPE] --workdir DIR``: MLIP molecular dynamics, where the pipeline's md stage runs it.

With ``--box FILE --out DIR`` it runs on an arbitrary structure file instead, into ``DIR/<state>``.
"""

from __future__ import annotations

VERB = "md"
HELP = "run MLIP MD (NVT/NPT/NVE) with stability monitors; H5MD trajectories, restartable"
ORDER = 70

_OVERRIDES = ("ensemble", "thermostat", "timestep_fs", "equilibration_ps", "production_ps", "save_every_steps", "seed")


def register(p):
    p.add_argument("recipe", nargs="?", help="recipe.yaml (its md section and temperatures); default: WORKDIR/recipe.yaml")
    p.add_argument("--workdir", help="project directory: MD of its compositions into WORKDIR/md (required without --box)")
    p.add_argument("--model", help="model name in the project (default: the recipe's training.model_name), a model directory, or emt/lj")
    p.add_argument("--composition", nargs="+", help="composition ids or scan values (default: the recipe's md.compositions)")
    p.add_argument("--box", help="run on this structure file instead of the project's compositions (needs --out)")
    p.add_argument("--out", help="output directory with --box (one folder per state point)")
    p.add_argument("--ensemble", choices=["nvt", "npt", "nve"])
    p.add_argument("--thermostat", choices=["langevin", "nose-hoover"])
    p.add_argument("--temperature-K", type=float, nargs="+", dest="temperature_K")
    p.add_argument("--pressure-bar", type=float, nargs="+", dest="pressure_bar")
    p.add_argument("--timestep-fs", type=float, dest="timestep_fs")
    p.add_argument("--equilibration-ps", type=float, dest="equilibration_ps")
    p.add_argument("--production-ps", type=float, dest="production_ps")
    p.add_argument("--save-every", type=int, dest="save_every_steps", help="save a frame every N steps")
    p.add_argument("--check-every", type=int, dest="check_every_steps", help="run the monitors every N steps")
    p.add_argument("--device", default=None, help="cpu or cuda")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None)
    p.add_argument("--workers", type=int, default=1, help="state points run in parallel processes")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-restart", action="store_true", help="start over (dropping old checkpoints) instead of resuming exactly from them")
    p.set_defaults(func=run)


def _overrides(args) -> dict:
    out = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None}
    for key, value in (("temperatures_K", args.temperature_K), ("pressures_bar", args.pressure_bar), ("device", args.device),
                       ("default_dtype", args.dtype)):
        if value:
            out[key] = value
    if args.check_every_steps:
        out["monitors"] = {"check_every_steps": args.check_every_steps}
    return out


def _print_run(cid, r) -> None:
    label = f"{cid}: T={r.temperature_K:g} K" + (f", P={r.pressure_bar:g} bar" if r.pressure_bar is not None else "")
    if r.completed:
        print(f"  {label}: completed {r.steps_done} steps, {r.atom_steps_per_s:.0f} atom-steps/s -> {r.production}")
    else:
        print(f"  {label}: STOPPED at step {r.steps_done} of {r.steps_total} by a monitor: {r.problem}")
    if r.nve_drift_eV_ps_atom is not None:
        print(f"    NVE energy drift: {r.nve_drift_eV_ps_atom:.2e} eV/ps/atom")


def run(args) -> int:
    from ilforge.cli._training_args import recipe_or_none
    from ilforge.errors import IlforgeError
    from ilforge.md.stage import run_md, run_md_on_box
    from ilforge.project import Project

    project = Project(args.workdir) if args.workdir else None
    if project is not None:
        recipe = recipe_or_none(args.recipe, project)
    else:
        from ilforge.recipe import load_recipe

        recipe = load_recipe(args.recipe) if args.recipe else None
    common = dict(model_name=args.model, workers=args.workers, overrides=_overrides(args), restart=not args.no_restart,
                  on_done=_print_run)
    if args.box:
        if not args.out:
            raise IlforgeError("--box needs --out (the output directory)")
        print(f"MD on {args.box} -> {args.out}")
        res = run_md_on_box(args.box, args.out, recipe, project=project, **common)
    else:
        if project is None or recipe is None:
            raise IlforgeError("give --workdir (a project with its recipe, or a RECIPE argument), or --box FILE --out DIR")
        print(f"MD in {project.root}")
        res = run_md(project, recipe, compositions=args.composition, **common)
    return 0 if not res.stopped else 3
