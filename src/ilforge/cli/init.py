"""`ilforge init`: write a commented example recipe."""

from __future__ import annotations

from pathlib import Path

from ilforge.errors import IlforgeError

VERB = "init"
ORDER = 1
HELP = "write a commented example recipe NAME.yaml"

TEMPLATE = """\
# ilforge recipe. Validate it with `ilforge plan {name}.yaml`; every field is explained in docs/recipe.md.
name: {name}
seed: 1                      # every random choice derives from it

# Species not in the library (`ilforge species` lists it) are defined by SMILES; the charge is
# checked against the SMILES with RDKit.
# species:
#   - {{name: FOMIM, smiles: "C[n+]1ccn(CCC(F)(F)C(F)(F)C(F)(F)C(F)(F)C(F)(F)C(F)(F)F)c1", charge: 1}}

# Components are neutral formula units (salts, solvents) made of species.
components:
  LiPF6: {{Li: 1, PF6: 1}}
  EMIM_PF6: {{EMIM: 1, PF6: 1}}

box:
  ion_pairs: 20              # formula units per box; or `atoms: 500` for an approximate size
  # density_g_cm3: 1.4       # override the target density (default: experiment, else estimate)

temperatures_K: [353.15]

# Compositions: a scan of one component's molar fraction x against a balance component
# (ids x0.00, x0.10, ...), and/or a list of explicit compositions.
scan:
  component: LiPF6
  balance: EMIM_PF6
  values: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
# compositions:
#   - {{id: neat, fractions: {{EMIM_PF6: 1.0}}}}
#   - {{id: custom, counts: {{Li: 4, EMIM: 16, PF6: 20}}}}

# Training compositions (ids or scan values): `ilforge plan` says whether they span the targets.
training_compositions: [0.4, 0.6]

# Later stages (defaults shown in docs/recipe.md):
# forcefield: {{type: clandp, path: /path/to/clandp, charge_scale: 0.8}}
# labels: {{labeler: xtb, method: GFN1-xTB}}
# training: {{preset: small, max_epochs: 100}}
"""


def register(p) -> None:
    p.add_argument("name", help="recipe name; writes NAME.yaml in the current directory")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.recipe import recipe_from_dict

    import yaml

    from ilforge.recipe import check_name

    path = Path(f"{args.name}.yaml")
    check_name(path.stem, f"init {args.name}")
    if not path.parent.is_dir():
        raise IlforgeError(f"cannot write {path}: the folder {path.parent} does not exist; create it first (mkdir -p {path.parent})")
    if path.exists() and not args.force:
        raise IlforgeError(f"{path} exists; use --force to overwrite it")
    text = TEMPLATE.format(name=path.stem)
    recipe_from_dict(yaml.safe_load(text), source="template")  # the template itself must be valid
    path.write_text(text)
    print(f"wrote {path}; next: ilforge plan {path}")
    return 0
