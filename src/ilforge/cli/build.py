"""`ilforge build`: packed periodic boxes, one per composition and temperature."""

from __future__ import annotations

VERB = "build"
ORDER = 20
HELP = "pack periodic boxes (Packmol) for every composition and temperature into WORKDIR/boxes"


def register(p) -> None:
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--workdir", required=True, help="project directory (created if missing)")
    p.add_argument("--force", action="store_true", help="rebuild boxes that are up to date")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.build.stage import run_build
    from ilforge.cli._args import checked_workdir
    from ilforge.project import Project
    from ilforge.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    project = Project.init(checked_workdir(args.workdir), args.recipe)
    result = run_build(project, recipe, force=args.force)
    for b in result.boxes:
        print(f"{b.path}: {b.n_atoms} atoms, net charge {b.net_charge_e:+d} e, {b.density_g_cm3:.4f} g/cm3 "
              f"(target {b.target_density_g_cm3:.4f}, {b.density_source}), closest atoms of different molecules "
              f"{b.min_intermolecular_A:.2f} Å")
    return 0
