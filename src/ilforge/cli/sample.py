"""``ilforge sample RECIPE --workdir DIR``: classical MD sampling of every composition and temperature."""

from __future__ import annotations

VERB = "sample"
HELP = "classical MD sampling (OpenMM) of every composition and temperature into DIR/sampled and the frame store"
ORDER = 40


def register(parser) -> None:
    parser.add_argument("recipe", help="recipe.yaml")
    parser.add_argument("--workdir", required=True, help="project directory (boxes/ from `ilforge build`)")
    parser.add_argument("--composition", nargs="*", default=None, help="only these composition ids")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.cli._args import checked_workdir
    from ilforge.project import Project, state_name
    from ilforge.recipe import load_recipe
    from ilforge.sample.stage import run_sample

    recipe = load_recipe(args.recipe)
    project = Project.init(checked_workdir(args.workdir), args.recipe)
    summaries = run_sample(project, recipe, compositions=args.composition).runs
    print(f"{'run':<24} {'frames':>6} {'density/g cm-3':>14} {'ns/day':>8}  file")
    for s in summaries:
        rho = f"{s.mean_density_g_cm3:.4f}" if s.mean_density_g_cm3 is not None else "-"
        tag = " (done before)" if s.skipped else ""
        print(f"{state_name(s.composition_id, s.temperature_K):<24} {s.n_frames:>6} {rho:>14} {s.ns_per_day:>8.2f}  {s.path}{tag}")
    return 0
