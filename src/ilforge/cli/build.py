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
    from ase.io import read
    from tqdm import tqdm

    from ilforge import keys
    from ilforge.build.box import build_boxes, min_intermolecular_distance
    from ilforge.recipe import load_recipe
    from ilforge.units import density_g_cm3
    from ilforge.workdir import init_workdir

    recipe = load_recipe(args.recipe)
    workdir = init_workdir(args.workdir, args.recipe)
    n = len(recipe.resolve_compositions()) * len(recipe.temperatures_K)
    with tqdm(total=n, desc="build", unit="box") as bar:
        paths = build_boxes(recipe, workdir, force=args.force, progress=lambda p: bar.update(1))
    charges = {sp.name: sp.charge for sp in recipe.library()}
    for p in paths:
        a = read(p)
        q = sum(n * charges[k.removeprefix(keys.COUNT_PREFIX)] for k, n in a.info.items() if k.startswith(keys.COUNT_PREFIX))
        rho = density_g_cm3(a.get_masses().sum(), a.get_volume())
        print(
            f"{p}: {len(a)} atoms, net charge {q:+d} e, {rho:.4f} g/cm3 (target {a.info[keys.DENSITY_G_CM3]:.4f}, "
            f"{a.info[keys.DENSITY_SOURCE].split(' (')[0]}), closest atoms of different molecules "
            f"{min_intermolecular_distance(a):.2f} Å"
        )
    return 0
