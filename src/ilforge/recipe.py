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

import math
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from ilforge.analysis.settings import AnalysisSettings
from ilforge.chem.mixture import (
    MAX_BOX_ATOMS,
    MAX_FORMULA_UNITS,
    Composition,
    component_charge,
    counts_from_fractions,
    formula_units_for_atoms,
    net_charge,
)
from ilforge.chem.species import SpeciesLibrary, load_library, make_species
from ilforge.errors import IlforgeError, RecipeError
from ilforge.forcefields.settings import ForceFieldSettings
from ilforge.learn.settings import LearningSettings
from ilforge.md.settings import MDSettings
from ilforge.models.registry import settings_from_dict
from ilforge.models.settings import TrainingSettings
from ilforge.reference.settings import LabelSettings, ReferenceCheckSettings
from ilforge.sample.settings import SamplingSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: names that become file names (recipe, components, composition ids, models): no path separators
SAFE_NAME = r"^[A-Za-z0-9_.+\-]+$"
_SAFE_NAME = re.compile(SAFE_NAME)
#: largest recipe file read (bytes) and largest YAML document after alias expansion (nodes)
MAX_RECIPE_BYTES = 1_000_000
MAX_YAML_NODES = 100_000
#: temperatures above this are refused (no ionic liquid or electrolyte survives them), K
MAX_TEMPERATURE_K = 2000.0
#: box densities outside this range are refused as unphysical for a liquid, g/cm3
DENSITY_RANGE_G_CM3 = (0.2, 6.0)


def check_name(name: str, field: str) -> str:
    """``name`` if it is safe as a file name (letters, digits, ``_ . + -``, no ``..``), else a :class:`RecipeError`."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name or name.startswith(("-", ".")):
        raise RecipeError(
            f"{field}: {name!r} is not a valid name; use letters, digits and _ . + - only "
            f"(no '/', no '..', not starting with '.' or '-'), e.g. EMIM_BF4"
        )
    return name


class SpeciesDef(_Strict):
    """A species not in the library (or overriding nothing: names must be new), given by SMILES."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_()\-]+$", description="new name, used in components and counts")
    smiles: str = Field(description="SMILES with explicit formal charges, e.g. CCC[NH3+]")
    charge: int = Field(description="formal charge, e; must equal the SMILES' total formal charge")
    kind: str | None = Field(None, description="cation, anion or neutral (default: from the charge)")
    aliases: list[str] = Field(default_factory=list, description="other names accepted for it")


class BoxSpec(_Strict):
    """Size of every box: ``formula_units`` (ion pairs for 1:1 salts) or an approximate ``atoms`` count."""

    formula_units: int | None = Field(None, ge=1, le=MAX_FORMULA_UNITS, description="formula units per box (alias: ion_pairs)")
    atoms: int | None = Field(None, ge=1, le=MAX_BOX_ATOMS, description="approximate number of atoms per box")
    density_g_cm3: float | None = Field(None, gt=0, description="override the target density of every box")

    @model_validator(mode="before")
    @classmethod
    def _alias(cls, data: Any):
        if isinstance(data, dict) and "ion_pairs" in data:
            data = dict(data)
            if "formula_units" in data:
                raise ValueError("give either ion_pairs or formula_units, not both")
            n = data["ion_pairs"]
            if isinstance(n, (int, float)) and not isinstance(n, bool) and n > MAX_FORMULA_UNITS:
                raise ValueError(f"ion_pairs: {n:g} is more than ilforge packs ({MAX_FORMULA_UNITS}); 20-100 ion pairs "
                                 f"is typical for MLIP training data")
            data["formula_units"] = data.pop("ion_pairs")
        return data

    @model_validator(mode="after")
    def _one_size(self):
        if (self.formula_units is None) == (self.atoms is None):
            raise ValueError("give exactly one of formula_units (or ion_pairs) and atoms, e.g. box: {ion_pairs: 20}")
        lo, hi = DENSITY_RANGE_G_CM3
        rho = self.density_g_cm3
        if rho is not None and not lo <= rho <= hi:
            raise ValueError(
                f"density_g_cm3 = {rho:g} g/cm3 is unphysical for a liquid (ionic liquids and electrolytes lie "
                f"near 0.8-2.5 g/cm3; accepted {lo:g}-{hi:g}); give the density in g/cm3, or remove the key to use "
                f"the experimental or estimated density"
            )
        return self


class CompositionSpec(_Strict):
    """One composition: molar ``fractions`` of components, or explicit species ``counts``."""

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]+$", description="name of the composition (default: from its content)")
    fractions: dict[str, float] | None = Field(None, description="component -> molar fraction (sum 1)")
    counts: dict[str, int] | None = Field(None, description="species -> number of molecules (neutral in total)")

    @field_validator("fractions")
    @classmethod
    def _finite_fractions(cls, value: dict[str, float] | None):
        bad = {c: x for c, x in (value or {}).items() if not (math.isfinite(x) and 0.0 <= x <= 1.0)}
        if bad:
            raise ValueError(f"molar fractions must be numbers in [0, 1], got {bad}")
        return value

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
    reference_check: ReferenceCheckSettings = Field(
        default_factory=ReferenceCheckSettings, description="pre-flight check of the reference level (stage `check`)")
    training: SerializeAsAny[TrainingSettings] = Field(
        default_factory=lambda: settings_from_dict({}), description="MLIP training (fields of the backend named by `backend`)"
    )
    md: MDSettings = Field(default_factory=MDSettings, description="MLIP molecular dynamics")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings, description="property analyses")
    learning: LearningSettings | None = Field(
        None, description="active learning (`ilforge learn`, the stage `learn`); absent: the stage is skipped")

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

    @model_validator(mode="after")
    def _some_compositions(self):
        if not self.compositions and self.scan is None:
            raise ValueError("give `compositions:` (a list) or `scan:` (component, balance, values)")
        return self

    def check_values(self) -> None:
        """Refuse non-finite numbers, quantities outside their physical range (by the unit in the key
        name) and cross-field contradictions anywhere in the recipe; raises :class:`RecipeError`."""
        data = self.model_dump(mode="python")
        _check_numbers({section: data.get(section) for section in _CHECKED_SECTIONS}, "", None)
        check_name(self.name, "name")
        for cname in self.components:
            check_name(cname, f"components.{cname}")
        for i, cs in enumerate(self.compositions):
            if cs.id is not None:
                check_name(cs.id, f"compositions[{i}].id")
        check_name(getattr(self.training, "model_name", "mlip"), "training.model_name")
        _check_cross_fields(self)

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
        for comp in out:
            _check_box_size(comp, lib)
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


#: recipe sections whose numbers are checked by unit (compositions and components hold fractions and counts)
_CHECKED_SECTIONS = ("seed", "box", "temperatures_K", "pressure_bar", "forcefield", "sampling", "labels", "training",
                     "md", "analysis")
#: key-name unit suffixes of quantities that cannot be negative
_NON_NEGATIVE = ("_fs", "_ps", "_A", "_g_cm3", "_Pa_s", "_eV_A", "_A3")


def _check_numbers(value: Any, where: str, unit_key: str | None) -> None:
    """Every number under ``value`` finite; under a key ending in ``_K`` in (0, MAX_TEMPERATURE_K];
    under one ending in a length/time/density unit (``_A``, ``_fs``, ``_ps``, ...) not negative."""
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            named = key if key.endswith(("_K", *_NON_NEGATIVE)) else unit_key
            _check_numbers(v, f"{where}.{key}" if where else key, named)
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_numbers(v, f"{where}[{i}]", unit_key)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        raise RecipeError(f"{where}: {value} is not a finite number; give a number such as 298.15")
    if unit_key is None:
        return
    if unit_key.endswith("_K") and not 0 < value <= MAX_TEMPERATURE_K:
        raise RecipeError(
            f"{where}: {value:g} K is not a physical temperature for a liquid; give kelvin in (0, {MAX_TEMPERATURE_K:g}], "
            f"e.g. 298.15 (0 °C = 273.15 K)"
        )
    if unit_key.endswith(_NON_NEGATIVE) and value < 0:
        raise RecipeError(f"{where}: {value:g} is negative; this quantity ({unit_key}) must be >= 0")


def check_split_fractions(settings, where: str = "training") -> None:
    """Refuse training settings whose ``valid_fraction + test_fraction`` leaves no training frames."""
    valid, test = getattr(settings, "valid_fraction", 0.0), getattr(settings, "test_fraction", 0.0)
    if valid + test >= 1.0:
        raise RecipeError(
            f"{where}: valid_fraction ({valid:g}) + test_fraction ({test:g}) = {valid + test:g} leaves no frames "
            f"to train on; make their sum < 1 (e.g. 0.1 and 0.1)"
        )


def _check_cross_fields(recipe: "Recipe") -> None:
    """Rules between fields: the split fractions leave training frames; sampling saves at least one frame."""
    check_split_fractions(recipe.training, "training")
    sa = recipe.sampling
    if sa.production_ps > 0 and sa.interval_ps > sa.production_ps:
        raise RecipeError(
            f"sampling.interval_ps ({sa.interval_ps:g} ps) is longer than sampling.production_ps ({sa.production_ps:g} ps): "
            f"no snapshot would be saved; shorten interval_ps or lengthen production_ps"
        )


def _check_box_size(comp: Composition, lib: SpeciesLibrary) -> None:
    """Refuse a box larger than :data:`MAX_BOX_ATOMS` before Packmol sees it."""
    n_atoms = sum(n * lib.get(s).n_atoms for s, n in comp.counts.items())
    if n_atoms > MAX_BOX_ATOMS:
        raise RecipeError(
            f"box: composition {comp.id!r} would have {n_atoms} atoms per box, more than ilforge packs "
            f"({MAX_BOX_ATOMS}); use a smaller box.ion_pairs / box.formula_units (20-100 is typical for MLIP data)"
        )


def _is_number(s: Any) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False


def format_validation_error(exc: ValidationError, source: str, max_lines: int = 12) -> str:
    """pydantic's errors as ``field: message`` lines (at most ``max_lines``), under the file name."""
    lines = [f"{source}: the recipe is invalid:"]
    errors = exc.errors()
    for err in errors[:max_lines]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        if err["type"] not in ("value_error", "missing", "extra_forbidden") and isinstance(value, (str, int, float)):
            msg += f" (got {value!r})"
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling (see `ilforge init` for an annotated recipe)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  {loc}: {msg}")
    if len(errors) > max_lines:
        lines.append(f"  ... and {len(errors) - max_lines} more errors (is this file a recipe?)")
    return "\n".join(lines)


def recipe_from_dict(data: dict, source: str = "recipe") -> Recipe:
    """Validate a recipe dict fully (schema, species, compositions); raises :class:`RecipeError`."""
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: the recipe must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(format_validation_error(exc, source)) from None
    try:
        recipe.check_values()
    except RecipeError as exc:
        raise RecipeError(f"{source}: {exc}") from None
    compositions = recipe.resolve_compositions()
    recipe.training_set(compositions)
    return recipe


class _RecipeLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class reports unhashable keys
                if key in seen:
                    raise RecipeError(
                        f"line {key_node.start_mark.line + 1}: key {key!r} is given twice in one mapping (first on line "
                        f"{seen[key]}); YAML would silently keep the last one: delete one of them"
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, memo: dict, active: set) -> int:
    """Number of nodes of the YAML graph with every alias expanded (aliases share nodes in the graph)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise RecipeError("a YAML alias refers to the node that contains it (a recursive document); remove the alias")
    active.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(n, memo, active) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo, active) + _expanded_size(v, memo, active) for k, v in node.value)
    active.discard(key)
    memo[key] = size = min(size, MAX_YAML_NODES + 1)
    return size


def safe_load_yaml(text: str, source: str = "recipe"):
    """Parse YAML data: safe tags only, duplicate keys refused, at most :data:`MAX_YAML_NODES` nodes
    after alias expansion (an "alias bomb" of nested anchors is refused before it is built)."""
    loader = _RecipeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, set()) > MAX_YAML_NODES:
            raise RecipeError(
                f"{source}: the YAML document expands to more than {MAX_YAML_NODES} values (nested aliases, '*name'); "
                f"a recipe needs a few hundred: write the values out or remove the aliases"
            )
        return loader.construct_document(node)
    except RecipeError as exc:
        msg = str(exc)
        raise RecipeError(msg if msg.startswith(source) else f"{source}: {msg}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise RecipeError(f"{source}: the YAML document is nested too deeply; a recipe needs a few levels") from None
    finally:
        loader.dispose()


def read_recipe_text(path: Path) -> str:
    """The text of a recipe file: a file (not a folder), at most :data:`MAX_RECIPE_BYTES`, UTF-8 text."""
    if path.is_dir():
        raise RecipeError(f"recipe {str(path)!r} is a directory; give the recipe's YAML file")
    if not path.is_file():
        raise RecipeError(f"recipe file {str(path)!r} not found; create one with `ilforge init NAME`")
    size = path.stat().st_size
    if size > MAX_RECIPE_BYTES:
        raise RecipeError(f"{path}: {size} bytes is too large for a recipe (limit {MAX_RECIPE_BYTES}); is it the right file?")
    raw = path.read_bytes()
    if b"\0" in raw:
        raise RecipeError(f"{path}: a binary file, not a YAML recipe; give the recipe's .yaml file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the recipe as UTF-8 (plain text)"
        ) from None


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate ``recipe.yaml``; raises :class:`RecipeError` naming the field and the fix."""
    path = Path(path)
    data = safe_load_yaml(read_recipe_text(path), source=str(path))
    return recipe_from_dict(data, source=str(path))
