"""``ilforge ff check RECIPE``: the force-field parameters of every species of a recipe."""

from __future__ import annotations

from pathlib import Path

VERB = "ff"
HELP = "inspect the classical force field of a recipe (ilforge ff check RECIPE)"
ORDER = 35


def register(parser) -> None:
    sub = parser.add_subparsers(dest="ff_command", metavar="COMMAND")
    p = sub.add_parser("check", help="parameters per atom, net charge per molecule, missing parameters")
    p.add_argument("recipe", help="recipe.yaml")
    p.add_argument("--species", nargs="*", default=None, help="only these species (default: all of the recipe's)")
    p.add_argument("--cache-dir", default=None, help="cache of the generic force field's xTB results")
    p.set_defaults(func=run)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run(args) -> int:
    from ilforge.forcefields.assign import forcefield_name, templates_for
    from ilforge.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    lib = recipe.library()
    species = args.species or sorted({s for c in recipe.resolve_compositions(lib) for s in c.counts})
    ff = recipe.forcefield
    templates = templates_for(species, lib, ff, cache_dir=Path(args.cache_dir) if args.cache_dir else None, seed=recipe.seed)
    print(f"force field: {forcefield_name(ff)}; charges scaled by {ff.charge_scale:g}; cutoff {ff.cutoff_A:g} Å")
    for name, t in templates.items():
        print(f"\n{name} ({t.forcefield}): {t.n_atoms} atoms, net charge {t.net_charge_e:+.4f} e "
              f"(scaled {t.net_charge_e * ff.charge_scale:+.4f} e); {len(t.bonds)} bonds, {len(t.angles)} angles, "
              f"{len(t.torsions) + len(t.periodic_torsions)} dihedrals, {len(t.impropers)} impropers")
        print(f"  {'#':>3} {'el':<2} {'type':<14} {'q/e':>8} {'q_scaled/e':>10} {'sigma/Å':>8} {'eps/kJmol':>9}")
        for i in range(t.n_atoms):
            print(f"  {i:>3} {t.symbols[i]:<2} {t.types[i]:<14} {t.charges_e[i]:>8.4f} "
                  f"{t.charges_e[i] * ff.charge_scale:>10.4f} {t.sigma_A[i]:>8.4f} {t.epsilon_kJ_mol[i]:>9.5f}")
    return 0
