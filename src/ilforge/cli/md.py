"""``ilforge md``: run MLIP molecular dynamics on a box at one or more state points."""

from __future__ import annotations

from pathlib import Path

VERB = "md"
HELP = "run MLIP MD (NVT/NPT/NVE) with stability monitors; H5MD trajectories, restartable"
ORDER = 70


def register(p):
    p.add_argument("box", type=Path, help="starting structure (extxyz with mol_id/mol_species, e.g. WORKDIR/boxes/*.extxyz)")
    p.add_argument("--model", required=True, help="MACE model file; several comma-separated files = a committee; or 'emt'/'lj'")
    p.add_argument("--recipe", type=Path, help="take the md section (and temperatures) from this recipe")
    p.add_argument("--out", type=Path, help="output directory (default md/<box name>)")
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
    p.add_argument("--no-restart", action="store_true", help="start over instead of resuming from checkpoints")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.errors import IlforgeError
    from ilforge.md.calculators import CalculatorSpec
    from ilforge.md.runner import run_state_points, state_points
    from ilforge.md.settings import MDSettings

    if not args.box.is_file():
        raise IlforgeError(f"box {args.box} not found; build one with `ilforge build` or give an extxyz path")
    recipe_T = None
    if args.recipe:
        from ilforge.recipe import load_recipe

        recipe = load_recipe(args.recipe)
        settings = recipe.md
        recipe_T = recipe.temperatures_K
    else:
        settings = MDSettings()
    upd = {k: getattr(args, k) for k in ("ensemble", "thermostat", "timestep_fs", "equilibration_ps", "production_ps", "save_every_steps", "seed")
           if getattr(args, k) is not None}
    if args.device:
        upd["device"] = args.device
    if args.dtype:
        upd["default_dtype"] = args.dtype
    data = settings.model_dump() | upd
    if args.check_every_steps:
        data["monitors"]["check_every_steps"] = args.check_every_steps
    settings = MDSettings.model_validate(data)
    points = state_points(settings, args.temperature_K or settings.temperatures_K or recipe_T, args.pressure_bar)
    out = args.out or Path("md") / args.box.stem
    calc = CalculatorSpec(args.model, settings.device, settings.default_dtype)
    print(f"MD {settings.ensemble} on {args.box} ({len(points)} state point(s)) -> {out}")

    def done(r):
        state = r["state"]
        label = f"T={state['temperature_K']:g} K" + (f", P={state['pressure_bar']:g} bar" if state.get("pressure_bar") is not None else "")
        if r["status"] == "completed":
            print(f"  {label}: completed {r['steps_done']} steps, {r['atom_steps_per_s']:.0f} atom-steps/s -> {r['production']}")
        else:
            print(f"  {label}: STOPPED at step {r['steps_done']} of {r['steps_total']} by a monitor: {r['problem']}")
        if r.get("nve_drift_eV_ps_atom") is not None:
            print(f"    NVE energy drift: {r['nve_drift_eV_ps_atom']:.2e} eV/ps/atom")

    results = run_state_points(args.box, calc, settings, out, points, workers=args.workers, restart=not args.no_restart, on_done=done)
    return 0 if all(r["status"] == "completed" for r in results) else 3
