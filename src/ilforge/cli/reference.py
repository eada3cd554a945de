"""``ilforge reference check RECIPE --workdir DIR``: the pre-flight reference check.

The molecular virial pressure of the recipe's labeler and a cheap ladder of alternatives on a few
classical snapshots at the experimental density, and the density error each implies
(:func:`ilforge.reference.check.run_reference_check`; docs/reference_check.md).
"""

from __future__ import annotations

VERB = "reference"
HELP = "pre-flight check of reference methods: pressure at the experimental density and the density error it implies"
ORDER = 55


def register(parser) -> None:
    sub = parser.add_subparsers(dest="reference_command", metavar="COMMAND", required=True)
    p = sub.add_parser("check", help=HELP, description=HELP)
    p.add_argument("recipe", help="recipe.yaml")
    p.add_argument("--workdir", required=True, help="project directory (its packed box is reused when present)")
    p.add_argument("--methods", default=None,
                   help="comma-separated: labeler,gfn1,gfn2,classical (default: those installed), "
                        "cp2k (slow: minutes per frame), sevennet")
    p.add_argument("--frames", type=int, default=4, help="classical snapshots to evaluate (default 4)")
    p.add_argument("--thermalise-ps", type=float, default=10.0, help="NVT classical MD before the first snapshot, ps")
    p.add_argument("--interval-ps", type=float, default=2.0, help="time between snapshots, ps")
    p.add_argument("--own-md-steps", type=int, default=0,
                   help="MD steps (0.5 fs) at each method's own level from every snapshot before measuring (mean "
                        "over the second half): its pressure on its own structures; costs frames x steps labels "
                        "per method (default 0: the classical snapshots as they are)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _table(res) -> str:
    from ilforge.reference.check import ON_CLASSICAL_STRUCTURES, own_md_note

    lines = [f"{res.composition_id} at {res.temperature_K:g} K: {res.n_atoms} atoms, {res.n_molecules} molecules, "
             f"{res.density_g_cm3:.4f} g/cm3 ({res.density_source})",
             f"{res.n_frames} snapshots from {res.thermalised_with}"
             + own_md_note(res.own_md_steps)
             + "; κT: "
             + (f"{res.kappa_T_per_GPa:g} 1/GPa, {res.kappa_T_source}" if res.kappa_T_per_GPa else res.kappa_T_source),
             "", f"{'method':<30} {'P_mol/GPa':>10} {'spread':>7} {'P_atomic/GPa':>12} {'density err':>11} "
             f"{'s/frame':>8}  EOS"]
    for m in res.methods:
        if m.skipped is not None:
            lines.append(f"{m.name:<30} skipped: {m.skipped}")
            continue
        err = "-" if m.implied_density_error_percent is None else f"{m.implied_density_error_percent:+.1f} %"
        mark = " *" if m.chosen else ""
        lines.append(f"{m.name + mark:<30} {m.pressure_GPa:>+10.3f} {m.pressure_spread_GPa:>7.3f} "
                     f"{m.atomic_pressure_GPa:>+12.3f} {err:>11} {m.seconds_per_frame:>8.2f}  {m.eos_model.split(' ')[0]}")
    models = sorted({m.eos_model for m in res.methods if m.eos_model})
    lines += ["", "* the recipe's labeler. P_mol: molecular virial pressure (mean, spread = standard deviation over "
              "snapshots); density err: implied at P = 0, through " + "; ".join(models)]
    if not res.own_md_steps:
        lines.append(ON_CLASSICAL_STRUCTURES)
    lines += [f"WARNING: {m.warning}" for m in res.methods if m.warning]
    return "\n".join(lines)


def run(args) -> int:
    import json

    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.reference.check import run_reference_check

    recipe = load_recipe(args.recipe)
    project = Project.init(args.workdir, args.recipe)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    res = run_reference_check(project, recipe, methods=methods, frames=args.frames,
                              thermalise_ps=args.thermalise_ps, interval_ps=args.interval_ps,
                              own_md_steps=args.own_md_steps)
    print(json.dumps(res.to_dict(), indent=1) if args.json else _table(res))
    return 0
