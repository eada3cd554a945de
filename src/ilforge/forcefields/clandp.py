"""CL&P / OPLS-AA parameters of a species from an fftool-format directory (il.ff + molecule files).

The molecule file of a species comes from ``forcefield.molecule_files`` or the species library's
``clandp`` field (relative to ``forcefield.path``, by default the CL&P copy shipped in
``ilforge/forcefields/data/clandp``). Its atoms are matched onto the species' atoms
by graph isomorphism (:mod:`.matching`), so box atoms need not follow the file's order; where the
molecule's symmetry leaves the numbering open (the six F of PF6-), equivalent terminal atoms are
ordered so that the file's geometry agrees with the packer's (:func:`.matching.align_equivalent_leaves`).
Angles and proper dihedrals are generated from the bond graph, except that, as in fftool, an angle
term whose value in the molecule file's geometry is more than 15° from θ0 is dropped (PF6- keeps the
12 cis F-P-F terms at θ0 = 90°, not the 3 trans pairs at 180°). Impropers are those listed in a
``.zmat`` (``improper i j k l``, central atom third), or, when the file lists none, found for
every atom with three neighbours whose types match an IMPROPER entry (as fftool does).
Single-atom ions without a molecule file (Li+) use the il.ff atom named as the element.
"""

from __future__ import annotations

import functools
import itertools
import logging
from pathlib import Path

import numpy as np

from ilforge.chem.geometry import species_geometry
from ilforge.chem.species import Species
from ilforge.forcefields.clandp_reader import (
    ForceFieldDB,
    ForceFieldError,
    MoleculeFile,
    element_of,
    read_ff,
    read_molecule,
)
from ilforge.forcefields.matching import ANGLE_TOLERANCE_DEG, align_equivalent_leaves, bond_angle_deg, match_atoms
from ilforge.forcefields.shipped import clandp_dir
from ilforge.forcefields.template import MoleculeTemplate

log = logging.getLogger(__name__)

FORCEFIELD_NAME = "CL&P"


@functools.lru_cache(maxsize=16)
def _read_ff_cached(path: str, mtime: float) -> ForceFieldDB:
    return read_ff(path)


def load_ff(path: Path) -> ForceFieldDB:
    """The ``.ff`` database at ``path`` (cached per file and modification time)."""
    path = Path(path)
    if not path.is_file():
        raise ForceFieldError(f"force-field file {path} not found; set forcefield.path to the CL&P directory")
    return _read_ff_cached(str(path.resolve()), path.stat().st_mtime)


def molecule_file_for(species: Species, directory: Path, overrides: dict[str, str] | None = None) -> Path | None:
    """Path of the molecule file of ``species``: recipe override, else the library's ``clandp`` entry."""
    overrides = overrides or {}
    name = overrides.get(species.name) or next((overrides[a] for a in species.aliases if a in overrides), None)
    name = name or species.clandp
    return (Path(directory) / name) if name else None


def clandp_template(
    species: Species, directory: Path | None = None, overrides: dict[str, str] | None = None, ff_name: str = "il.ff"
) -> MoleculeTemplate:
    """Parametrise ``species`` with CL&P from ``directory`` (default: the copy shipped with ilforge,
    :func:`ilforge.forcefields.shipped.clandp_dir`); raises :class:`ForceFieldError` naming missing types."""
    directory = clandp_dir() if directory is None else Path(directory)
    if not directory.is_dir():
        raise ForceFieldError(
            f"CL&P directory {directory} not found; set forcefield.path to a directory with il.ff and molecule files"
        )
    mfile = molecule_file_for(species, directory, overrides)
    if mfile is None:
        if species.n_atoms == 1:
            db = load_ff(directory / ff_name)
            sym = species.symbols[0]
            if sym not in db.atoms:
                raise ForceFieldError(
                    f"species {species.name}: no molecule file and no atom type {sym!r} in {db.path}; "
                    f"add one or give forcefield.molecule_files.{species.name}"
                )
            mol = MoleculeFile(db.path, species.name, [sym], np.zeros((1, 3)), [], [], ff_name)
            return _template_from_file(species, mol, db)
        raise ForceFieldError(
            f"species {species.name}: no CL&P molecule file known; give forcefield.molecule_files.{species.name} "
            f"(a .zmat/.xyz in {directory}) or use forcefield.type: generic"
        )
    if not mfile.is_file():
        raise ForceFieldError(f"species {species.name}: molecule file {mfile} not found")
    mol0 = read_molecule(mfile)
    ff_path = mfile.parent / (mol0.ff_file or ff_name)
    if not ff_path.is_file():
        ff_path = directory / ff_name
    db = load_ff(ff_path)
    mol = read_molecule(mfile, db) if mfile.suffix == ".xyz" else mol0
    return _template_from_file(species, mol, db)


def _collect(errors: list[str], fn, *args):
    """``fn(*args)``; a :class:`ForceFieldError` is appended to ``errors`` (without the file path) and gives None."""
    try:
        return fn(*args)
    except ForceFieldError as exc:
        errors.append(str(exc).split(" in /")[0])
        return None


def _matched_topology(species: Species, mol: MoleculeFile, db: ForceFieldDB, where: str):
    """Map the file's atoms onto the species' atoms (graph isomorphism).

    Returns ``(mapping, inv, at, bonds_sp, nbr)``: ``mapping[i]`` the file index of species atom ``i``,
    ``inv`` its inverse (file index -> species index), ``at`` the il.ff atom types in species order,
    ``bonds_sp`` the sorted bonds ``(i, j)``, i < j, in species indices, and ``nbr`` the neighbour lists.
    """
    missing = sorted({nm for nm in mol.names if nm not in db.atoms})
    if missing:
        raise ForceFieldError(f"{where}: atom types {missing} are not in the ATOMS section of {db.path}")
    atypes = [db.atoms[nm] for nm in mol.names]
    file_symbols = [element_of(a) for a in atypes]
    mapping = match_atoms(species.symbols, species.bonds, file_symbols, mol.bonds, where=where, file_types=mol.names)
    perm = align_equivalent_leaves(
        [mol.names[j] for j in mapping], species.bonds, np.asarray(mol.positions_A)[mapping],
        lambda: species_geometry(species).positions, where=where,
    )
    mapping = [mapping[p] for p in perm]  # the one numbering shared by the packed boxes and the force field
    inv = {j: i for i, j in enumerate(mapping)}  # file index -> species index

    n = species.n_atoms
    at = [atypes[mapping[i]] for i in range(n)]
    bonds_sp = sorted({(min(inv[a], inv[b]), max(inv[a], inv[b])) for a, b in mol.bonds})
    nbr: list[list[int]] = [[] for _ in range(n)]
    for i, j in bonds_sp:
        nbr[i].append(j)
        nbr[j].append(i)
    return mapping, inv, at, bonds_sp, nbr


def _bond_terms(db: ForceFieldDB, bt: list[str], bonds_sp, errors: list[str]) -> list[tuple]:
    """Harmonic bonds ``(i, j, r0 [Å], k [kJ/mol/Å²], constrained)`` for every bond of the graph."""
    bonds = []
    for i, j in bonds_sp:
        p = _collect(errors, db.bond, bt[i], bt[j])
        if p is not None:
            bonds.append((i, j, p.r0_A, p.k_kJ_mol_A2, p.constrained))
    return bonds


def _angle_terms(db: ForceFieldDB, bt: list[str], nbr, pos: np.ndarray, errors: list[str], where: str) -> list[tuple]:
    """Harmonic angles ``(i, j, k, θ0 [deg], k [kJ/mol/rad²])`` for the pairs of neighbours of each centre j
    whose angle θ_ijk in the molecule's geometry ``pos`` (Å, species order) is within
    :data:`ANGLE_TOLERANCE_DEG` of θ0 (fftool's rule: |θ_ijk - θ0| > 15° means the term does not describe
    that pair, e.g. a trans F-P-F pair of PF6- at 180° against θ0 = 90°)."""
    angles, dropped = [], []
    for j in range(len(nbr)):
        for i, k in itertools.combinations(sorted(nbr[j]), 2):
            p = _collect(errors, db.angle, bt[i], bt[j], bt[k])
            if p is None:
                continue
            theta = bond_angle_deg(pos, i, j, k)
            if abs(theta - p.theta0_deg) > ANGLE_TOLERANCE_DEG:
                dropped.append(f"{bt[i]}-{bt[j]}-{bt[k]} ({theta:.0f}° vs θ0 {p.theta0_deg:g}°)")
                continue
            angles.append((i, j, k, p.theta0_deg, p.k_kJ_mol_rad2))
    if dropped:
        log.debug("%s: %d angle terms dropped, more than %g° from θ0 in the molecule's geometry: %s",
                  where, len(dropped), ANGLE_TOLERANCE_DEG, ", ".join(dropped))
    return angles


def _torsion_terms(db: ForceFieldDB, bt: list[str], bonds_sp, nbr, errors: list[str]) -> list[tuple]:
    """Proper dihedrals ``(i, j, k, l, params)`` for every path i-j-k-l through each bond j-k."""
    torsions = []
    for j, k in bonds_sp:
        for i in nbr[j]:
            if i == k:
                continue
            for ll in nbr[k]:
                if ll in (j, i):
                    continue
                p = _collect(errors, db.dihedral, bt[i], bt[j], bt[k], bt[ll])
                if p is not None:
                    torsions.append((i, j, k, ll, p))
    return torsions


def _improper_terms(db: ForceFieldDB, bt: list[str], nbr, mol: MoleculeFile, inv: dict, errors: list[str]) -> list[tuple]:
    """Improper dihedrals ``(a, b, c, d, params)`` (central atom third).

    Those listed in the molecule file; when it lists none, every atom with three neighbours whose types
    match an IMPROPER entry (as fftool does; unmatched centres are skipped silently).
    """
    impropers = []
    if mol.impropers:
        for quad in mol.impropers:
            q = [inv[a] for a in quad]
            r = _collect(errors, db.improper, tuple(bt[a] for a in q))
            if r is not None:
                order, v = r
                impropers.append((*[q[o] for o in order], v))
        return impropers
    for c in range(len(nbr)):
        if len(nbr[c]) != 3:
            continue
        a, b, d = nbr[c]
        try:
            order, v = db.improper((bt[a], bt[b], bt[c], bt[d]))
        except ForceFieldError:
            continue
        q = [a, b, c, d]
        impropers.append((*[q[o] for o in order], v))
    return impropers


def _template_from_file(species: Species, mol: MoleculeFile, db: ForceFieldDB) -> MoleculeTemplate:
    """The CL&P template of ``species`` from its molecule file ``mol`` and the parameter database ``db``.

    All missing bonded parameters are collected and reported together in one :class:`ForceFieldError`.
    """
    where = f"species {species.name} ({mol.path.name})"
    mapping, inv, at, bonds_sp, nbr = _matched_topology(species, mol, db, where)
    bt = [a.btype for a in at]
    errors: list[str] = []
    bonds = _bond_terms(db, bt, bonds_sp, errors)
    angles = _angle_terms(db, bt, nbr, np.asarray(mol.positions_A)[mapping], errors, where)
    torsions = _torsion_terms(db, bt, bonds_sp, nbr, errors)
    impropers = _improper_terms(db, bt, nbr, mol, inv, errors)
    if errors:
        uniq = list(dict.fromkeys(errors))
        raise ForceFieldError(f"{where}: " + "; ".join(uniq) + f" (parameters file {db.path})")
    return MoleculeTemplate(
        species=species.name,
        forcefield=FORCEFIELD_NAME,
        symbols=list(species.symbols),
        types=[a.name for a in at],
        masses_amu=[a.mass_amu for a in at],
        charges_e=[a.charge_e for a in at],
        sigma_A=[a.sigma_A for a in at],
        epsilon_kJ_mol=[a.epsilon_kJ_mol for a in at],
        bonds=bonds,
        angles=angles,
        torsions=torsions,
        impropers=impropers,
        positions_A=np.asarray(mol.positions_A)[mapping],
    )
