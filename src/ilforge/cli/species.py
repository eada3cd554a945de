"""`ilforge species`: list the species library."""

from __future__ import annotations

VERB = "species"
ORDER = 5
HELP = "list the species library (names, aliases, charges, SMILES)"


def register(p) -> None:
    p.add_argument("--kind", choices=["cation", "anion", "neutral"], help="only this kind")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.chem.species import load_library

    for sp in load_library():
        if args.kind and sp.kind != args.kind:
            continue
        aliases = f"  (aliases: {', '.join(sp.aliases)})" if sp.aliases else ""
        print(f"{sp.name:<10} {sp.kind:<8} {sp.charge:+d}  {sp.n_atoms:>3} atoms  {sp.smiles}{aliases}")
    return 0
