"""Generate the recipe reference (docs/recipe.md) from the pydantic models of :mod:`ilforge.recipe`.

Run ``python -m ilforge.recipe_doc > docs/recipe.md``; a test checks the file is up to date.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ilforge.recipe import Recipe

HEADER = """# Recipe reference

Generated from the pydantic models in `src/ilforge/recipe.py` and the stage settings
(`python -m ilforge.recipe_doc > docs/recipe.md`; a test keeps it in step with the code).
A recipe is YAML; unknown keys are errors. Quantities carry their unit in the key name.
`ilforge init NAME` writes an annotated example; `examples/` holds complete ones.
"""


def _rules() -> str:
    """The checks every recipe passes before any work starts (constants of :mod:`ilforge.recipe`)."""
    from ilforge.chem.mixture import MAX_BOX_ATOMS, MAX_FORMULA_UNITS
    from ilforge.recipe import DENSITY_RANGE_G_CM3, MAX_RECIPE_BYTES, MAX_TEMPERATURE_K, MAX_YAML_NODES

    lo, hi = DENSITY_RANGE_G_CM3
    return f"""
## Checks before any work starts

Every verb that reads a recipe validates all of it first; an error names the file, the field, the
problem and the fix, and the command exits with code 2 (see [errors](errors.md)).

- The file is UTF-8 text of at most {MAX_RECIPE_BYTES} bytes; YAML's safe subset only (no `!!python` tags).
- A key given twice in one mapping is an error (plain YAML would keep the last one silently).
- Anchors and aliases (`&name`, `*name`) are allowed, but a document that expands to more than
  {MAX_YAML_NODES} values (an "alias bomb") or refers to itself is refused.
- Every number is finite (no `.inf`, `.nan`). A key ending in `_K` is a temperature in
  (0, {MAX_TEMPERATURE_K:g}] K; keys ending in `_A`, `_fs`, `_ps`, `_g_cm3`, `_Pa_s`, `_eV_A` are not negative.
- Names that become file names (`name`, component names, composition ids, `training.model_name`) use
  letters, digits and `_ . + -` only, contain no `..` and do not start with `.` or `-`.
- `box.density_g_cm3` lies in [{lo:g}, {hi:g}] g/cm3; a box has at most {MAX_FORMULA_UNITS} formula units and
  {MAX_BOX_ATOMS} atoms (checked before Packmol runs).
- `training.valid_fraction + training.test_fraction < 1`; `sampling.interval_ps` is not longer than
  `sampling.production_ps`.
- Species given by SMILES are closed-shell (no unpaired electrons) and carry the declared charge.
"""


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")
    args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
    name = getattr(origin, "__name__", str(origin)).replace("UnionType", "union").replace("Union", "union")
    if name == "Literal":
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    return f"{name}[{args}]"


def _default(field) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
        return "{...}" if isinstance(value, BaseModel) else repr(value)
    if field.default is PydanticUndefined:
        return "**required**"
    return repr(field.default)


def _nested_model(annotation):
    for a in (annotation, *typing.get_args(annotation)):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
        for b in typing.get_args(a):
            if isinstance(b, type) and issubclass(b, BaseModel):
                return b
    return None


def _section(model: type[BaseModel], title: str, seen: set) -> list[str]:
    lines = [f"## `{title}`", ""]
    doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    nested = []
    for name, field in model.model_fields.items():
        desc = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | `{_type_name(field.annotation)}` | `{_default(field)}` | {desc} |")
        sub = _nested_model(field.annotation)
        if sub is not None and sub not in seen:
            seen.add(sub)
            nested.append((sub, f"{title}.{name}" if title != "recipe" else name))
    lines.append("")
    for sub, sub_title in nested:
        lines += _section(sub, sub_title, seen)
    return lines


def _backend_sections(seen: set) -> list[str]:
    """One section per MLIP backend: the fields its ``training:`` settings add to the common ones."""
    from ilforge.models.registry import backend_names, settings_class
    from ilforge.models.settings import TrainingSettings

    lines: list[str] = []
    for name in backend_names():
        cls = settings_class(name)
        extra = {k: f for k, f in cls.model_fields.items() if k not in TrainingSettings.model_fields}
        if not extra:
            continue
        lines += [f"## `training` with `backend: {name}`", "", "Fields added to the common `training` keys above.", "",
                  "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, field in extra.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{key}` | `{_type_name(field.annotation)}` | `{_default(field)}` | {desc} |")
        lines.append("")
    return lines


def recipe_reference_markdown() -> str:
    seen = {Recipe}
    return HEADER + _rules() + "\n" + "\n".join(_section(Recipe, "recipe", seen) + _backend_sections(seen)) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(recipe_reference_markdown(), end="")
