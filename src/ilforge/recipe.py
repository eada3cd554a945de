"""The recipe: pydantic models of ``recipe.yaml`` and its validation, with errors that name the
field and the fix. Nothing here runs a calculation.

Minimal example (neat EMIM-BF4)::

    name: emim_bf4
    components: {EMIM_BF4: {EMIM: 1, BF4: 1}}
    box: {formula_units: 8}
    temperatures_K: [298.15]
    compositions: [{id: neat, fractions: {EMIM_BF4: 1.0}}]

A *component* is a neutral formula unit (a salt or a solvent molecule). Compositions are molar
fractions of components, explicit species counts, or a ``scan`` of one component's fraction x
against a balance component (ids ``x0.00`` ... ``x1.00``). ``training_compositions`` lists ids
(or scan values) that the planner checks and later stages train on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from ilforge.analysis.settings import AnalysisSettings
from ilforge.chem.mixture import Composition, component_charge, counts_from_fractions, formula_units_for_atoms, net_charge
from ilforge.chem.species import SpeciesLibrary, load_library, make_species
from ilforge.errors import IlforgeError, RecipeError
from ilforge.forcefields.settings import ForceFieldSettings
from ilforge.md.settings import MDSettings
from ilforge.models.registry import settings_from_dict
from ilforge.models.settings import TrainingSettings
from ilforge.reference.settings import LabelSettings
from ilforge.sample.settings import SamplingSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpeciesDef(_Strict):
    """A species not in the library (or overriding nothing: names must be new), given by SMILES."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_()\-]+$", description="new name, used in components and counts")
    smiles: str = Field(description="SMILES with explicit formal charges, e.g. CCC[NH3+]")
    charge: int = Field(description="formal charge, e; must equal the SMILES' total formal charge")
    kind: str | None = Field(None, description="cation, anion or neutral (default: from the charge)")
    aliases: list[str] = Field(default_factory=list, description="other names accepted for it")


class BoxSpec(_Strict):
    """Size of every box: ``formula_units`` (ion pairs for 1:1 salts) or an approximate ``atoms`` count."""

    formula_units: int | None = Field(None, ge=1, description="formula units per box (alias: ion_pairs)")
    atoms: int | None = Field(None, ge=1, description="approximate number of atoms per box")
    density_g_cm3: float | None = Field(None, gt=0, description="override the target density of every box")

    @model_validator(mode="before")
    @classmethod
    def _alias(cls, data: Any):
        if isinstance(data, dict) and "ion_pairs" in data:
            data = dict(data)
            if "formula_units" in data:
                raise ValueError("give either ion_pairs or formula_units, not both")
            data["formula_units"] = data.pop("ion_pairs")
        return data

    @model_validator(mode="after")
    def _one_size(self):
        if (self.formula_units is None) == (self.atoms is None):
            raise ValueError("give exactly one of formula_units (or ion_pairs) and atoms, e.g. box: {ion_pairs: 20}")
        return self


class CompositionSpec(_Strict):
    """One composition: molar ``fractions`` of components, or explicit species ``counts``."""

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]+$", description="name of the composition (default: from its content)")
    fractions: dict[str, float] | None = Field(None, description="component -> molar fraction (sum 1)")
    counts: dict[str, int] | None = Field(None, description="species -> number of molecules (neutral in total)")

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.fractions is None) == (self.counts is None):
            raise ValueError("give exactly one of fractions (component -> molar fraction) and counts (species -> number)")
        return self


class ScanSpec(_Strict):
    """Compositions x * component + (1 - x) * balance for each x in ``values``; ids ``x{value:.2f}``."""

    component: str = Field(description="component whose molar fraction is x")
    balance: str = Field(description="component making up 1 - x")
    values: list[float] = Field(min_length=1, description="the x values, each in [0, 1]")

    @model_validator(mode="after")
    def _range(self):
        bad = [v for v in self.values if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"scan values must lie in [0, 1], got {bad}")
        return self


def scan_id(x: float) -> str:
    """Composition id of scan value ``x``: ``x0.40``."""
    return f"x{x:.2f}"


class Recipe(_Strict):
    """A whole recipe. Stage sections (forcefield, sampling, labels, training, md, analysis) are optional."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="project name (letters, digits, _ . -)")
    seed: int = Field(0, description="seed of every random choice (packing, sampling, splits, training)")
    species: list[SpeciesDef] = Field(default_factory=list, description="species beyond the library, by SMILES")
    components: dict[str, dict[str, int]] = Field(
        min_length=1, description="neutral formula units: name -> {species: stoichiometry}, e.g. LiPF6: {Li: 1, PF6: 1}"
    )
    box: BoxSpec = Field(description="size of every box (and optional density override)")
    temperatures_K: list[float] = Field(default_factory=lambda: [298.15], min_length=1, description="temperatures, K")
    pressure_bar: float = Field(1.0, description="pressure of NPT stages, bar")
    scan: ScanSpec | None = Field(None, description="compositions x*component + (1-x)*balance, ids x0.00 ...")
    compositions: list[CompositionSpec] = Field(default_factory=list, description="explicit compositions")
    training_compositions: list[str | float] = Field(
        default_factory=list, description="ids (or scan values) of the training compositions"
    )
    forcefield: ForceFieldSettings = Field(default_factory=ForceFieldSettings, description="classical force field")
    sampling: SamplingSettings = Field(default_factory=SamplingSettings, description="classical MD sampling")
    labels: LabelSettings = Field(default_factory=LabelSettings, description="reference labels")
    training: SerializeAsAny[TrainingSettings] = Field(
        default_factory=lambda: settings_from_dict({}), description="MLIP training (fields of the backend named by `backend`)"
    )
    md: MDSettings = Field(default_factory=MDSettings, description="MLIP molecular dynamics")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings, description="property analyses")

    @field_validator("training", mode="before")
    @classmethod
    def _training_of_backend(cls, value: Any):
        """Validate ``training:`` with the settings class of its ``backend`` (ilforge.models.registry)."""
        if isinstance(value, TrainingSettings):
            return value
        if value is not None and not isinstance(value, dict):
            raise ValueError("training must be a mapping (key: value)")
        try:
            return settings_from_dict(value)
        except IlforgeError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("temperatures_K")
    @classmethod
    def _positive_temperatures(cls, value: list[float]) -> list[float]:
        bad = [t for t in value if t <= 0]
        if bad:
            raise ValueError(f"temperatures must be positive (kelvin), got {bad}")
        return value

    @model_validator(mode="after")
    def _some_compositions(self):
        if not self.compositions and self.scan is None:
            raise ValueError("give `compositions:` (a list) or `scan:` (component, balance, values)")
        return self

    # --- resolution against the species library -------------------------------------------
    def library(self) -> SpeciesLibrary:
        """The built-in species library plus the recipe's own species (checked with RDKit)."""
        lib = load_library()
        for i, sd in enumerate(self.species):
            if sd.name in lib:
                raise RecipeError(
                    f"species[{i}].name: {sd.name!r} is already in the library as {lib.get(sd.name).name!r}; "
                    f"use that name or choose another"
                )
            try:
                lib.add(make_species(sd.name, sd.smiles, sd.charge, sd.kind, sd.aliases))
            except IlforgeError as exc:
                raise RecipeError(f"species[{i}]: {exc}") from None
        return lib

    def _canonical_components(self, lib: SpeciesLibrary) -> dict[str, dict[str, int]]:
        comps: dict[str, dict[str, int]] = {}
        for cname, stoich in self.components.items():
            canon: dict[str, int] = {}
            for sname, nu in stoich.items():
                try:
                    sp = lib.get(sname)
                except IlforgeError as exc:
                    raise RecipeError(f"components.{cname}: {exc}") from None
                if nu < 1:
                    raise RecipeError(f"components.{cname}.{sname}: stoichiometry must be a positive integer, got {nu}")
                canon[sp.name] = canon.get(sp.name, 0) + int(nu)
            q = component_charge(canon, {s: lib.get(s).charge for s in canon})
            if q != 0:
                raise RecipeError(
                    f"components.{cname}: formula unit {canon} has net charge {q:+d}; a component must be neutral "
                    f"(adjust the stoichiometry, e.g. two Li per SO4)"
                )
            comps[cname] = canon
        return comps

    def formula_units(self, lib: SpeciesLibrary | None = None) -> int:
        """Formula units per box: given, or chosen to approximate ``box.atoms`` for every fraction composition."""
        if self.box.formula_units is not None:
            return self.box.formula_units
        lib = lib or self.library()
        comps = self._canonical_components(lib)
        fr = [dict(c.fractions) for c in self.compositions if c.fractions is not None]
        if self.scan is not None:
            fr += [{self.scan.component: x, self.scan.balance: 1 - x} for x in self.scan.values]
        if not fr:
            return 1
        atoms = {s.name: s.n_atoms for s in lib}
        return formula_units_for_atoms(self.box.atoms, fr, comps, atoms)

    def resolve_compositions(self, lib: SpeciesLibrary | None = None) -> list[Composition]:
        """Every target composition with integer species counts; raises :class:`RecipeError` on any problem."""
        lib = lib or self.library()
        comps = self._canonical_components(lib)
        n_units = self.formula_units(lib)
        charges = {s.name: s.charge for s in lib}
        out: list[Composition] = []
        if self.scan is not None:
            for name in (self.scan.component, self.scan.balance):
                if name not in comps:
                    raise RecipeError(f"scan: component {name!r} is not defined under components: {sorted(comps)}")
            for x in self.scan.values:
                fr = {self.scan.component: x, self.scan.balance: round(1.0 - x, 12)}
                fr = {c: v for c, v in fr.items() if v > 0}
                counts = counts_from_fractions(fr, comps, n_units, where=f"scan value {x}")
                out.append(Composition(scan_id(x), counts, fr, x=x))
        for i, cs in enumerate(self.compositions):
            where = f"compositions[{i}]"
            if cs.fractions is not None:
                counts = counts_from_fractions(cs.fractions, comps, n_units, where=where)
                cid = cs.id or "_".join(f"{c}{x:g}" for c, x in cs.fractions.items())
                fr = dict(cs.fractions)
            else:
                counts = {}
                for sname, n in cs.counts.items():
                    try:
                        sp = lib.get(sname)
                    except IlforgeError as exc:
                        raise RecipeError(f"{where}.counts: {exc}") from None
                    if n < 0:
                        raise RecipeError(f"{where}.counts.{sname}: a count must be >= 0, got {n}")
                    counts[sp.name] = counts.get(sp.name, 0) + int(n)
                q = net_charge(counts, charges)
                if q != 0:
                    raise RecipeError(
                        f"{where}.counts: the box {counts} has net charge {q:+d} e; change the counts so that "
                        f"cation and anion charges cancel"
                    )
                cid = cs.id or "_".join(f"{s}{n}" for s, n in counts.items())
                fr = None
            counts = {s: n for s, n in counts.items() if n > 0}
            if not counts:
                raise RecipeError(f"{where}: the composition is empty")
            out.append(Composition(cid, counts, fr))
        ids = [c.id for c in out]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise RecipeError(f"compositions: ids {dup} are used twice; give each composition a unique id")
        return out

    def composition_by_ref(self, ref: str | float, compositions: list[Composition]) -> Composition:
        """A composition by id, or by scan value (``0.4`` -> ``x0.40``)."""
        by_id = {c.id: c for c in compositions}
        if isinstance(ref, (int, float)) or _is_number(ref):
            key = scan_id(float(ref))
            if key in by_id:
                return by_id[key]
            if self.scan is None:
                raise RecipeError(f"training composition {ref!r}: a number refers to a scan value, but the recipe has no scan")
            comps = self._canonical_components(self.library())
            x = float(ref)
            fr = {c: v for c, v in {self.scan.component: x, self.scan.balance: 1 - x}.items() if v > 0}
            counts = counts_from_fractions(fr, comps, self.formula_units(), where=f"training composition {ref}")
            return Composition(key, counts, fr, x=x)
        if ref in by_id:
            return by_id[ref]
        raise RecipeError(f"training composition {ref!r} is not a composition id; known ids: {list(by_id)}")

    def training_set(self, compositions: list[Composition] | None = None) -> list[Composition]:
        comps = compositions if compositions is not None else self.resolve_compositions()
        return [self.composition_by_ref(r, comps) for r in self.training_compositions]


def _is_number(s: Any) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: the recipe is invalid:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling (see `ilforge init` for an annotated recipe)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def recipe_from_dict(data: dict, source: str = "recipe") -> Recipe:
    """Validate a recipe dict fully (schema, species, compositions); raises :class:`RecipeError`."""
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: the recipe must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(format_validation_error(exc, source)) from None
    compositions = recipe.resolve_compositions()
    recipe.training_set(compositions)
    return recipe


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate ``recipe.yaml``; raises :class:`RecipeError` naming the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {str(path)!r} not found; create one with `ilforge init NAME`")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    return recipe_from_dict(data, source=str(path))
