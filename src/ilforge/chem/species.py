"""The species library: ions and neutral molecules by name, alias or SMILES.

A :class:`Species` carries the SMILES, formal charge (e) and kind; its molecular graph and mass
come from RDKit (explicit hydrogens). Charges are checked against the SMILES on load: the
sum of RDKit formal charges must equal the declared charge, and the sign must match the kind.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import yaml

from ilforge.errors import SpeciesError

Kind = Literal["cation", "anion", "neutral"]


@dataclass(frozen=True)
class Species:
    """One molecule or ion. ``charge`` is the formal charge in e; ``mass_amu`` the molar mass in amu (g/mol)."""

    name: str
    smiles: str
    charge: int
    kind: Kind
    aliases: tuple[str, ...] = ()
    clandp: str | None = None
    symbols: tuple[str, ...] = field(default=(), compare=False)
    bonds: tuple[tuple[int, int], ...] = field(default=(), compare=False)
    mass_amu: float = field(default=0.0, compare=False)

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def label(self) -> str:
        """Name with its charge sign, e.g. ``Li+``, ``PF6-``, ``water``."""
        if self.charge == 0:
            return self.name
        sign = "+" if self.charge > 0 else "-"
        return f"{self.name}{sign}" if abs(self.charge) == 1 else f"{self.name}{abs(self.charge)}{sign}"

    def rdkit_mol(self):
        """RDKit molecule with explicit hydrogens, atoms in the order of :attr:`symbols`."""
        from rdkit import Chem

        return Chem.AddHs(Chem.MolFromSmiles(self.smiles))


def _expected_sign(kind: str) -> int:
    return {"cation": 1, "anion": -1, "neutral": 0}[kind]


def make_species(
    name: str, smiles: str, charge: int, kind: str | None = None, aliases=(), clandp: str | None = None
) -> Species:
    """Build a :class:`Species` from a SMILES, checking it with RDKit.

    Raises :class:`SpeciesError` when the SMILES does not parse, when the RDKit formal charge
    differs from ``charge``, or when ``kind`` contradicts the sign of the charge.
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem import Descriptors

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise SpeciesError(f"species {name!r}: SMILES {smiles!r} does not parse; check brackets, ring closures and charges")
    radicals = Descriptors.NumRadicalElectrons(mol)
    if radicals:
        raise SpeciesError(
            f"species {name!r}: SMILES {smiles!r} is open-shell ({radicals} unpaired electron(s)); ilforge's labelers "
            f"and force fields assume closed-shell species: write the charge on the atom that carries it and the "
            f"hydrogens explicitly (e.g. [NH4+], not [NH4]; C[n+]1ccn(C)c1 for EMIM)"
        )
    rd_charge = Chem.GetFormalCharge(mol)
    if rd_charge != charge:
        raise SpeciesError(
            f"species {name!r}: declared charge {charge:+d} but SMILES {smiles!r} carries {rd_charge:+d}; "
            f"fix the charge (e.g. charge: {rd_charge}) or the SMILES"
        )
    if kind is None:
        kind = "cation" if charge > 0 else "anion" if charge < 0 else "neutral"
    if kind not in ("cation", "anion", "neutral"):
        raise SpeciesError(f"species {name!r}: kind must be cation, anion or neutral, not {kind!r}")
    sign = (charge > 0) - (charge < 0)
    if sign != _expected_sign(kind):
        raise SpeciesError(f"species {name!r}: kind {kind!r} does not match charge {charge:+d}")
    molh = Chem.AddHs(mol)
    symbols = tuple(a.GetSymbol() for a in molh.GetAtoms())
    bonds = tuple(sorted((min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx())) for b in molh.GetBonds()))
    return Species(
        name=name,
        smiles=smiles,
        charge=int(charge),
        kind=kind,  # type: ignore[arg-type]
        aliases=tuple(aliases),
        clandp=clandp,
        symbols=symbols,
        bonds=bonds,
        mass_amu=float(Descriptors.MolWt(molh)),
    )


class SpeciesLibrary:
    """Species by name or alias (case-insensitive). ``add`` registers recipe-defined species."""

    def __init__(self, species: list[Species]):
        self._by_name: dict[str, Species] = {}
        self._lookup: dict[str, str] = {}
        for sp in species:
            self.add(sp)

    def add(self, sp: Species) -> None:
        for key in (sp.name, *sp.aliases):
            k = key.lower()
            if k in self._lookup and self._lookup[k] != sp.name:
                raise SpeciesError(f"species {sp.name!r}: name or alias {key!r} is already used by {self._lookup[k]!r}; choose another name")
        self._by_name[sp.name] = sp
        for key in (sp.name, *sp.aliases):
            self._lookup[key.lower()] = sp.name

    def __contains__(self, key: str) -> bool:
        return key.lower() in self._lookup

    def __iter__(self):
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, key: str) -> Species:
        try:
            return self._by_name[self._lookup[key.lower()]]
        except KeyError:
            close = [s.name for s in self._by_name.values() if key.lower()[:3] in s.name.lower()][:5]
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise SpeciesError(
                f"unknown species {key!r}.{hint} Use a library name (`ilforge species` lists them) "
                f"or define it under `species:` with name, smiles and charge."
            ) from None

    def copy(self) -> "SpeciesLibrary":
        return SpeciesLibrary(list(self._by_name.values()))


@functools.lru_cache(maxsize=1)
def _builtin() -> SpeciesLibrary:
    text = resources.files("ilforge.chem").joinpath("data/species.yaml").read_text()
    entries = yaml.safe_load(text)["species"]
    return SpeciesLibrary(
        [
            make_species(e["name"], e["smiles"], e["charge"], e["kind"], e.get("aliases", ()), e.get("clandp"))
            for e in entries
        ]
    )


def load_library() -> SpeciesLibrary:
    """The built-in library (a fresh copy, safe to extend with recipe species)."""
    return _builtin().copy()
