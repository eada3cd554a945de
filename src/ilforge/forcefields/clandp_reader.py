"""Readers for the CL&P / fftool file formats: the ``.ff`` parameter database and molecule files.

The ``.ff`` database (e.g. ``il.ff`` of CL&P, Canongia Lopes & Pádua, J. Phys. Chem. B 108 (2004)
2038 and sequels) has sections ``ATOMS``, ``BONDS``, ``ANGLES``, ``DIHEDRALS``, ``IMPROPER``.
Units: kJ/mol, Å, degrees. Bond and angle force constants are given as ``k`` in
E = (k/2) (x - x0)^2 (the header says "in the form k/2 (x - x0)^2"; fftool writes k/2 to LAMMPS'
``harmonic`` styles, whose E = K (x - x0)^2). Angle constants are per rad^2.

``ATOMS``: ``name  type  mass/amu  charge/e  lj  sigma/Å  epsilon/(kJ/mol)``. The *name* is what
molecule files use; bonded terms are looked up by the *type* (second column).
``DIHEDRALS`` / ``IMPROPER``: ``i j k l opls V1 V2 V3 V4`` (kJ/mol) for
E = V1/2 (1 + cos φ) + V2/2 (1 - cos 2φ) + V3/2 (1 + cos 3φ) + V4/2 (1 - cos 4φ).
In impropers the central atom is the *third* of the four.

Molecule files: ``.zmat`` (name line, z-matrix lines ``idx name [ib r [ia θ [id φ]]]``, variables
``name = value``, ``connect i j``, ``improper i j k l``, and the ``.ff`` file name) and ``.xyz``
(count, title ending with the ``.ff`` file name, ``name x y z`` lines; bonds come from distances).
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ilforge.errors import IlforgeError

log = logging.getLogger(__name__)


class ForceFieldError(IlforgeError):
    """A force-field file is malformed or a parameter is missing; the message names the atom types."""


@dataclass(frozen=True)
class AtomType:
    """One ATOMS entry: ``name`` (used by molecule files), bonded ``btype``, mass (amu), charge (e),
    Lennard-Jones sigma (Å) and epsilon (kJ/mol)."""

    name: str
    btype: str
    mass_amu: float
    charge_e: float
    sigma_A: float
    epsilon_kJ_mol: float


@dataclass(frozen=True)
class BondType:
    """Harmonic bond E = (k/2)(r - r0)^2: r0 (Å), k (kJ/mol/Å²); ``constrained`` when marked ``cons``."""

    r0_A: float
    k_kJ_mol_A2: float
    constrained: bool


@dataclass(frozen=True)
class AngleType:
    """Harmonic angle E = (k/2)(θ - θ0)^2: θ0 (degrees), k (kJ/mol/rad²); ``constrained`` when ``cons``."""

    theta0_deg: float
    k_kJ_mol_rad2: float
    constrained: bool


@dataclass
class ForceFieldDB:
    """The parameters of one ``.ff`` file, keyed by atom name (atoms) or bonded types (the rest).

    Bonded keys are stored as written; :meth:`bond`, :meth:`angle`, :meth:`dihedral` and
    :meth:`improper` look them up in either direction and raise :class:`ForceFieldError` naming
    the types when absent.
    """

    path: Path
    atoms: dict[str, AtomType] = field(default_factory=dict)
    bonds: dict[tuple[str, str], BondType] = field(default_factory=dict)
    angles: dict[tuple[str, str, str], AngleType] = field(default_factory=dict)
    dihedrals: dict[tuple[str, str, str, str], tuple[float, float, float, float]] = field(default_factory=dict)
    impropers: dict[tuple[str, str, str, str], tuple[float, float, float, float]] = field(default_factory=dict)

    def atom(self, name: str) -> AtomType:
        try:
            return self.atoms[name]
        except KeyError:
            raise ForceFieldError(f"atom type {name!r} is not in the ATOMS section of {self.path}") from None

    def bond(self, ti: str, tj: str) -> BondType:
        for key in ((ti, tj), (tj, ti)):
            if key in self.bonds:
                return self.bonds[key]
        raise ForceFieldError(f"missing bond parameters for types {ti}-{tj} in {self.path}")

    def angle(self, ti: str, tj: str, tk: str) -> AngleType:
        for key in ((ti, tj, tk), (tk, tj, ti)):
            if key in self.angles:
                return self.angles[key]
        raise ForceFieldError(f"missing angle parameters for types {ti}-{tj}-{tk} in {self.path}")

    def dihedral(self, ti: str, tj: str, tk: str, tl: str) -> tuple[float, float, float, float]:
        for key in ((ti, tj, tk, tl), (tl, tk, tj, ti)):
            if key in self.dihedrals:
                return self.dihedrals[key]
        raise ForceFieldError(f"missing dihedral parameters for types {ti}-{tj}-{tk}-{tl} in {self.path}")

    def improper(self, types: tuple[str, str, str, str]) -> tuple[tuple[int, int, int, int], tuple[float, ...]]:
        """Parameters of an improper with the central atom third, and the order of the atoms.

        The outer atoms (positions 0, 1, 3) may be listed in any order in the molecule file;
        the returned permutation puts them in the order of the il.ff entry, so the improper
        angle is the one il.ff (and fftool's LAMMPS output) defines.
        """
        ti, tj, tk, tl = types
        outer = [(0, ti), (1, tj), (3, tl)]
        for perm in itertools.permutations(outer):
            key = (perm[0][1], perm[1][1], tk, perm[2][1])
            if key in self.impropers:
                return (perm[0][0], perm[1][0], 2, perm[2][0]), self.impropers[key]
        raise ForceFieldError(
            f"missing improper parameters for types {ti}-{tj}-{tk}-{tl} (central atom {tk}) in {self.path}"
        )


_SECTIONS = ("ATOMS", "BONDS", "ANGLES", "DIHEDRALS", "IMPROPER")


def read_ff(path: str | Path) -> ForceFieldDB:
    """Parse an fftool ``.ff`` file into a :class:`ForceFieldDB` (units as in the file: kJ/mol, Å, deg)."""
    path = Path(path)
    if not path.is_file():
        raise ForceFieldError(f"force-field file {path} not found; set forcefield.path to the CL&P directory")
    db = ForceFieldDB(path=path)
    section = None
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tok = line.split()
        head = tok[0].upper()
        if head in _SECTIONS or head == "IMPROPERS":
            section = "IMPROPER" if head.startswith("IMPROPER") else head
            continue
        where = f"{path}:{lineno}"
        try:
            if section == "ATOMS":
                name, btype, m, q, pot = tok[:5]
                if pot.lower() != "lj":
                    raise ForceFieldError(f"{where}: only 'lj' non-bonded potentials are supported, got {pot!r}")
                db.atoms[name] = AtomType(name, btype, float(m), float(q), float(tok[5]), float(tok[6]))
            elif section == "BONDS":
                ti, tj, pot, r0, k = tok[:5]
                db.bonds[(ti, tj)] = BondType(float(r0), float(k), pot.lower() == "cons")
            elif section == "ANGLES":
                ti, tj, tk, pot, th, k = tok[:6]
                db.angles[(ti, tj, tk)] = AngleType(float(th), float(k), pot.lower() == "cons")
            elif section in ("DIHEDRALS", "IMPROPER"):
                ti, tj, tk, tl, pot = tok[:5]
                if pot.lower() != "opls":
                    raise ForceFieldError(f"{where}: only 'opls' dihedrals are supported, got {pot!r}")
                v = tuple(float(x) for x in tok[5:9])
                v = v + (0.0,) * (4 - len(v))
                target = db.dihedrals if section == "DIHEDRALS" else db.impropers
                target[(ti, tj, tk, tl)] = v  # type: ignore[assignment]
            else:
                raise ForceFieldError(f"{where}: data line outside a section (ATOMS, BONDS, ...)")
        except (ValueError, IndexError):
            raise ForceFieldError(f"{where}: cannot parse {raw.strip()!r} in section {section}") from None
    if not db.atoms:
        raise ForceFieldError(f"{path}: no ATOMS section found; is this an fftool .ff file?")
    return db


@dataclass
class MoleculeFile:
    """A molecule of the CL&P database: atom names (il.ff ATOMS names), coordinates (Å), bonds,
    explicit impropers (0-based, central atom third) and the name of its ``.ff`` file."""

    path: Path
    title: str
    names: list[str]
    positions_A: np.ndarray
    bonds: list[tuple[int, int]]
    impropers: list[tuple[int, int, int, int]]
    ff_file: str | None

    @property
    def n_atoms(self) -> int:
        return len(self.names)


def _zmat_to_cartesian(zlines: list[tuple]) -> np.ndarray:
    """Cartesian coordinates (Å) from z-matrix rows (ib, r, ia, θ°, id, φ°), 0-based references (NeRF)."""
    xyz = np.zeros((len(zlines), 3))
    for n, (ib, r, ia, th, idh, ph) in enumerate(zlines):
        if n == 0:
            continue
        if n == 1:
            xyz[n] = xyz[ib] + [r, 0.0, 0.0]
            continue
        th = math.radians(th)
        if n == 2 or idh is None:
            a, b = xyz[ia], xyz[ib]
            u = (a - b) / np.linalg.norm(a - b)
            perp = np.cross(u, [0.0, 0.0, 1.0])
            if np.linalg.norm(perp) < 1e-8:
                perp = np.cross(u, [0.0, 1.0, 0.0])
            perp /= np.linalg.norm(perp)
            w = np.cross(perp, u)
            xyz[n] = b + r * (math.cos(th) * u + math.sin(th) * w)
            continue
        ph = math.radians(ph)
        a, b, c = xyz[idh], xyz[ia], xyz[ib]  # new atom bonded to c (ib), angle at c with b, dihedral with a
        bc = c - b
        bc /= np.linalg.norm(bc)
        nrm = np.cross(b - a, bc)
        nrm /= np.linalg.norm(nrm)
        m = np.array([bc, np.cross(nrm, bc), nrm]).T
        d2 = np.array([-r * math.cos(th), r * math.sin(th) * math.cos(ph), r * math.sin(th) * math.sin(ph)])
        xyz[n] = c + m @ d2
    return xyz


def read_zmat(path: str | Path) -> MoleculeFile:
    """Parse an fftool ``.zmat`` molecule file (bonds from the z-matrix references plus ``connect``)."""
    path = Path(path)
    lines = [ln.split("#", 1)[0].rstrip() for ln in path.read_text().splitlines()]
    title = next((ln.strip() for ln in lines if ln.strip()), "")
    names: list[str] = []
    zrows: list[list[str]] = []
    variables: dict[str, float] = {}
    bonds: list[tuple[int, int]] = []
    impropers: list[tuple[int, int, int, int]] = []
    ff_file = None
    body = [ln for ln in lines if ln.strip()][1:]  # the first non-empty line is the title
    for ln in body:
        tok = ln.split()
        low = tok[0].lower()
        if len(tok) == 3 and tok[1] == "=":
            variables[tok[0]] = float(tok[2])
        elif low == "connect":
            bonds.append((int(tok[1]) - 1, int(tok[2]) - 1))
        elif low == "improper":
            impropers.append(tuple(int(t) - 1 for t in tok[1:5]))  # type: ignore[arg-type]
        elif low in ("reconnect", "noconnect"):
            raise ForceFieldError(f"{path}: keyword {tok[0]!r} is not supported")
        elif low.endswith(".ff") and len(tok) == 1:
            ff_file = tok[0]
        elif tok[0].isdigit() and len(tok) in (2, 4, 6, 8):
            names.append(tok[1])  # numbered row: idx name [ib r [ia theta [id phi]]]
            zrows.append(tok[2:])
        elif len(tok) in (1, 3, 5, 7) and (len(tok) == 1 or tok[1].isdigit()):
            names.append(tok[0])  # unnumbered row (water models): name [ib r [ia theta [id phi]]]
            zrows.append(tok[1:])
        else:
            raise ForceFieldError(f"{path}: cannot parse line {ln.strip()!r}")

    def val(s: str) -> float:
        return variables[s] if s in variables else float(s)

    parsed = []
    for n, row in enumerate(zrows):
        ib = int(row[0]) - 1 if len(row) >= 2 else None
        r = val(row[1]) if len(row) >= 2 else 0.0
        ia = int(row[2]) - 1 if len(row) >= 4 else None
        th = val(row[3]) if len(row) >= 4 else 0.0
        idh = int(row[4]) - 1 if len(row) >= 6 else None
        ph = val(row[5]) if len(row) >= 6 else 0.0
        if n > 0 and ib is None:
            raise ForceFieldError(f"{path}: atom {n + 1} ({names[n]}) has no bond reference")
        if ib is not None:
            bonds.append((ib, n))
        parsed.append((ib, r, ia, th, idh, ph))
    bonds = sorted({(min(i, j), max(i, j)) for i, j in bonds})
    return MoleculeFile(path, title, names, _zmat_to_cartesian(parsed), bonds, impropers, ff_file)


def read_xyz(path: str | Path, db: ForceFieldDB | None = None, tolerance_A: float = 0.25) -> MoleculeFile:
    """Parse an fftool ``.xyz`` molecule file; atoms i, j are bonded when their distance is within
    ``tolerance_A`` of the il.ff bond length of their types (or, without ``db`` or when no such
    bond type exists, shorter than 1.2 x the sum of covalent radii)."""
    from ase.data import atomic_numbers, covalent_radii

    path = Path(path)
    lines = path.read_text().splitlines()
    n = int(lines[0].split()[0])
    title = lines[1].strip()
    ff_file = next((t for t in title.split() if t.endswith(".ff")), None)
    names, pos = [], []
    for ln in lines[2 : 2 + n]:
        tok = ln.split()
        names.append(tok[0])
        pos.append([float(x) for x in tok[1:4]])
    pos = np.array(pos)
    elements = [element_of(db.atoms[nm]) if db is not None and nm in db.atoms else _element_from_name(nm) for nm in names]
    bonds = []
    for i in range(n):
        for j in range(i + 1, n):
            d = float(np.linalg.norm(pos[i] - pos[j]))
            r0 = None
            if db is not None and names[i] in db.atoms and names[j] in db.atoms:
                ti, tj = db.atoms[names[i]].btype, db.atoms[names[j]].btype
                if (ti, tj) in db.bonds or (tj, ti) in db.bonds:
                    r0 = db.bond(ti, tj).r0_A
            if r0 is not None:
                if abs(d - r0) < tolerance_A:
                    bonds.append((i, j))
            elif d < 1.2 * (covalent_radii[atomic_numbers[elements[i]]] + covalent_radii[atomic_numbers[elements[j]]]):
                bonds.append((i, j))
    return MoleculeFile(path, title, names, pos, bonds, [], ff_file)


def read_molecule(path: str | Path, db: ForceFieldDB | None = None) -> MoleculeFile:
    """Read a ``.zmat`` or ``.xyz`` molecule file."""
    path = Path(path)
    if not path.is_file():
        raise ForceFieldError(f"molecule file {path} not found; check forcefield.path / forcefield.molecule_files")
    if path.suffix == ".zmat":
        return read_zmat(path)
    if path.suffix == ".xyz":
        return read_xyz(path, db)
    raise ForceFieldError(f"{path}: unsupported molecule file type {path.suffix!r} (use .zmat or .xyz)")


def element_of(atom: AtomType) -> str:
    """Chemical element of an atom type, from its mass (closest standard atomic mass)."""
    from ase.data import atomic_masses, chemical_symbols

    z = int(np.argmin(np.abs(atomic_masses[1:95] - atom.mass_amu))) + 1
    return chemical_symbols[z]


def _element_from_name(name: str) -> str:
    from ase.data import atomic_numbers

    for k in (2, 1):
        cand = name[:k].capitalize()
        if cand in atomic_numbers:
            return cand
    raise ForceFieldError(f"cannot tell the element of atom name {name!r}")
