"""A generic force field for any species given by SMILES: a *sampler*, not a predictive model.

Use it to generate plausible structures of ions nobody has parametrised (then label them with a
reference method); do not use its densities or transport coefficients as predictions.

Recipe:
- geometry: RDKit ETKDG conformer (seeded), optimised with GFN2-xTB (tblite, ASE BFGS to
  fmax 0.01 eV/Å) as an isolated ion with its formal charge;
- charges: the Mulliken partial charges of that same xTB calculation (tblite's ``charges``;
  they sum to the formal charge), scaled later by ``forcefield.charge_scale``;
- bonds: E = (k/2)(r - r0)^2 with k from UFF (Rappé et al., JACS 114 (1992) 10024; RDKit's
  ``GetUFFBondStretchParams``) and r0 the xTB bond length;
- angles: E = (k/2)(θ - θ0)^2 with k the UFF angle constant (the curvature at θ0 of UFF's cosine
  series) and θ0 the xTB angle. UFF's tabulated angles are wrong for hypervalent ions (PF6-
  comes out tetrahedral), so the xTB geometry defines the minima: a trans pair of an octahedral
  or linear centre gets θ0 ≈ 180°. Equivalent terminal atoms (the six F of PF6-) are renumbered
  so that the xTB geometry's trans pairs are the packed boxes' trans pairs
  (:func:`.matching.align_equivalent_leaves`);
- torsions: UFF, E = V/2 [1 - cos(n φ0) cos(n φ)] with n, φ0 from the hybridisation of the
  central atoms (sp3-sp3: n=3, φ0=180°; sp2-sp2: n=2, φ0=180°; sp2-sp3: n=6, φ0=0), V from
  ``GetUFFTorsionParams`` divided by the number of torsions about the bond, as UFF does;
- planarity of sp2 centres with three neighbours: one OPLS-type improper (central atom third),
  E = V2/2 (1 - cos 2φ), with V2 = 1.5 x the UFF inversion constant (``GetUFFInversionParams``);
  an approximation of UFF's three inversion terms;
- Lennard-Jones: UFF x_i (well position) and D_i (depth), σ_i = x_i / 2^(1/6), ε_i = D_i, with
  geometric mixing (UFF's rule, as OPLS). 1-2 and 1-3 pairs are excluded, 1-4 scaled by 0.5.
xTB results are cached per species (SMILES + method) as JSON under the cache directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from ilforge.chem.species import Species
from ilforge.errors import require
from ilforge.forcefields.clandp_reader import ForceFieldError
from ilforge.forcefields.matching import align_equivalent_leaves
from ilforge.forcefields.template import MoleculeTemplate
from ilforge.jsonio import write_json_atomic
from ilforge.units import KCAL_TO_KJ

log = logging.getLogger(__name__)

FORCEFIELD_NAME = "generic-UFF-xTB"
CHARGE_MODEL = "Mulliken (tblite)"
IMPROPER_FACTOR = 1.5


def default_cache_dir() -> Path:
    """``$ILFORGE_CACHE`` or ``~/.cache/ilforge``, subfolder ``generic_ff``."""
    base = Path(os.environ.get("ILFORGE_CACHE", Path.home() / ".cache" / "ilforge"))
    return base / "generic_ff"


def _cache_key(smiles: str, charge: int, method: str) -> str:
    return hashlib.sha256(f"{smiles}|{charge}|{method}|v1".encode()).hexdigest()[:20]


def xtb_isolated(species: Species, method: str = "GFN2-xTB", cache_dir: Path | None = None, seed: int = 0) -> dict:
    """xTB-optimised geometry (Å, species order), Mulliken charges (e) and energy (eV) of the isolated
    species, cached as JSON. Single atoms: no calculation, charge = formal charge."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"{species.name}_{_cache_key(species.smiles, species.charge, method)}.json"
    cached = _read_cache(path, species.n_atoms)
    if cached is not None:
        return cached
    if species.n_atoms == 1:
        data = {"positions_A": [[0.0, 0.0, 0.0]], "charges_e": [float(species.charge)], "energy_eV": None}
    else:
        data = _xtb_optimise(species, method, seed)
    data.update({"species": species.name, "smiles": species.smiles, "method": method, "charge_model": CHARGE_MODEL})
    write_json_atomic(path, data)  # a killed run leaves no half-written entry
    return data


def _read_cache(path: Path, n_atoms: int) -> dict | None:
    """A cached xTB result, or None when absent; a corrupt entry (not JSON, wrong shape) is logged and
    rebuilt."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        ok = (isinstance(data, dict) and np.shape(data["positions_A"]) == (n_atoms, 3)
              and len(data["charges_e"]) == n_atoms)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        ok = False
    if not ok:
        log.warning("generic force-field cache %s is corrupt; computing it again", path)
        return None
    return data


def _start_geometry(species: Species, seed: int):
    """RDKit ETKDG conformer (``randomSeed = seed + 1``), UFF pre-optimised unless that crushes atoms together.

    Returns ``(mol, start)``: the RDKit molecule and the starting positions (Å, shape (n, 3)).
    """
    from rdkit import RDLogger
    from rdkit.Chem import AllChem

    RDLogger.DisableLog("rdApp.*")
    mol = species.rdkit_mol()
    if AllChem.EmbedMolecule(mol, randomSeed=seed + 1) != 0:
        raise ForceFieldError(f"species {species.name}: RDKit could not embed a 3D geometry from {species.smiles!r}")
    start = mol.GetConformer().GetPositions()
    try:  # UFF pre-optimisation, unless it crushes atoms together (hypervalent centres)
        AllChem.UFFOptimizeMolecule(mol, maxIters=500)
        uff = mol.GetConformer().GetPositions()
        from scipy.spatial.distance import pdist

        if pdist(uff).min() > 0.9:
            start = uff
    except Exception:  # noqa: BLE001 - the pre-optimisation is optional
        pass
    return mol, start


def _xtb_optimise(species: Species, method: str, seed: int) -> dict:
    """GFN-xTB (tblite) BFGS optimisation to fmax 0.01 eV/Å of the isolated ion with its formal charge.

    Tries an electronic temperature of 300 K, then 1000 K for hard SCF cases (charges and energy are then
    re-evaluated at 300 K). Returns positions (Å), Mulliken charges (e, summing to the formal charge) and
    the energy (eV).
    """
    require("tblite", "xtb")
    from ase import Atoms
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    mol, start = _start_geometry(species, seed)
    at = Atoms(list(species.symbols), positions=start)
    uhf = _unpaired(mol)
    converged = False
    for etemp in (300.0, 1000.0):  # a warmer electronic temperature rescues hard SCF cases
        at.positions = start
        at.calc = TBLite(
            method=method, charge=float(species.charge), multiplicity=uhf + 1, verbosity=0,
            electronic_temperature=etemp, max_iterations=500,
        )
        try:
            converged = BFGS(at, logfile=None).run(fmax=0.01, steps=1000)
            break
        except Exception as exc:  # noqa: BLE001 - tblite raises RuntimeError-like errors on SCF failure
            log.warning("xTB optimisation of %s at electronic temperature %g K failed: %s", species.name, etemp, exc)
    else:
        raise ForceFieldError(f"species {species.name}: the xTB optimisation failed (SCF did not converge)")
    if not converged:
        log.warning("xTB optimisation of %s did not reach fmax 0.01 eV/Å in 1000 steps", species.name)
    if at.calc.parameters.get("electronic_temperature", 300.0) != 300.0:
        at.calc = TBLite(method=method, charge=float(species.charge), multiplicity=uhf + 1, verbosity=0, max_iterations=500)
    q = np.asarray(at.calc.get_property("charges", at), dtype=float)
    data = {"positions_A": at.positions.tolist(), "charges_e": q.tolist(), "energy_eV": float(at.get_potential_energy())}
    # the partial charges must sum to the formal charge
    if abs(q.sum() - species.charge) > 1e-3:
        raise ForceFieldError(f"species {species.name}: xTB charges sum to {q.sum():.4f}, not {species.charge}")
    return data


def _unpaired(mol) -> int:
    return int(sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms()))


def _angle(p, i, j, k) -> float:
    u, v = p[i] - p[j], p[k] - p[j]
    c = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def _need(value, what: str, where: str):
    """``value``, or a :class:`ForceFieldError` when RDKit's UFF typing returned None."""
    if value is None:
        raise ForceFieldError(f"{where}: UFF has no {what} parameters; RDKit cannot type these atoms")
    return value


def _uff_nonbonded(mol, where: str) -> tuple[list[float], list[float], list[str]]:
    """UFF Lennard-Jones parameters and atom type names.

    σ_i = x_i / 2^(1/6) (Å) from the UFF well position x_i; ε_i = D_i (kcal/mol -> kJ/mol).
    Type names are ``<symbol>_<hybridisation>`` (bare symbol for an isolated atom).
    """
    from rdkit.Chem import ChemicalForceFields as cff

    sigma, eps, types = [], [], []
    for a in mol.GetAtoms():
        i = a.GetIdx()
        x, d = _need(cff.GetUFFVdWParams(mol, i, i), f"van der Waals for atom {i} ({a.GetSymbol()})", where)
        sigma.append(x / 2 ** (1 / 6))
        eps.append(d * KCAL_TO_KJ)
        hyb = str(a.GetHybridization())
        types.append(f"{a.GetSymbol()}_{hyb}" if a.GetDegree() > 0 else a.GetSymbol())
    return sigma, eps, types


def _uff_bonds(mol, species: Species, pos: np.ndarray, types: list[str], where: str):
    """Harmonic bonds E = (k/2)(r - r0)² with k from UFF (kJ/mol/Å²) and r0 the xTB bond length (Å).

    Returns ``(nbr, bonds)``: neighbour lists and ``(i, j, r0, k, False)`` tuples.
    """
    from rdkit.Chem import ChemicalForceFields as cff

    nbr: list[list[int]] = [[] for _ in range(species.n_atoms)]
    bonds = []
    for i, j in species.bonds:
        nbr[i].append(j)
        nbr[j].append(i)
        k, _r0 = _need(cff.GetUFFBondStretchParams(mol, i, j), f"bond-stretch for atoms {i}-{j} ({types[i]}-{types[j]})", where)
        r0 = float(np.linalg.norm(pos[i] - pos[j]))
        bonds.append((i, j, r0, k * KCAL_TO_KJ, False))
    return nbr, bonds


def _uff_angles(mol, nbr, pos: np.ndarray, types: list[str], where: str) -> list[tuple]:
    """Harmonic angles E = (k/2)(θ - θ0)²: k the UFF angle constant (kJ/mol/rad²), θ0 the xTB angle (deg)."""
    from rdkit.Chem import ChemicalForceFields as cff

    angles = []
    for j in range(len(nbr)):
        for a_ in range(len(nbr[j])):
            for b_ in range(a_ + 1, len(nbr[j])):
                i, k = nbr[j][a_], nbr[j][b_]
                ka, _th = _need(
                    cff.GetUFFAngleBendParams(mol, i, j, k),
                    f"angle for atoms {i}-{j}-{k} ({types[i]}-{types[j]}-{types[k]})",
                    where,
                )
                angles.append((i, j, k, _angle(pos, i, j, k), ka * KCAL_TO_KJ))
    return angles


def _uff_torsions(mol, species: Species, nbr) -> list[tuple]:
    """UFF torsions E = V/2 [1 - cos(n φ0) cos(n φ)] as ``(i, j, k, l, n, φ0 [rad], V/2 [kJ/mol])``.

    n, φ0 from the central atoms' hybridisation (sp3-sp3: 3, 0 i.e. +cos; sp2-sp2: 2, π; sp2-sp3: 6, π);
    V from ``GetUFFTorsionParams`` divided by the number of torsions about the bond, as UFF does.
    """
    from rdkit.Chem import ChemicalForceFields as cff
    from rdkit.Chem.rdchem import HybridizationType as Hyb

    torsions = []
    for j, k in species.bonds:
        hj, hk = mol.GetAtomWithIdx(j).GetHybridization(), mol.GetAtomWithIdx(k).GetHybridization()
        quads = [(i, j, k, ll) for i in nbr[j] if i != k for ll in nbr[k] if ll not in (j, i)]
        if not quads:
            continue
        if hj == Hyb.SP3 and hk == Hyb.SP3:
            n_per, sign = 3, 1.0  # V/2 (1 + cos 3φ)
        elif hj == Hyb.SP2 and hk == Hyb.SP2:
            n_per, sign = 2, -1.0  # V/2 (1 - cos 2φ)
        elif {hj, hk} == {Hyb.SP2, Hyb.SP3}:
            n_per, sign = 6, -1.0  # V/2 (1 - cos 6φ)
        else:
            continue  # sp centres and hypervalent atoms: no torsion barrier
        for i, _, _, ll in quads:
            v = cff.GetUFFTorsionParams(mol, i, j, k, ll)
            if v is None or v == 0.0:
                continue
            v_kj = v * KCAL_TO_KJ / len(quads)
            # V/2 [1 + sign cos nφ] = k [1 + cos(nφ - φ0)] with k = V/2, φ0 = 0 (sign +) or π (sign -)
            torsions.append((i, j, k, ll, n_per, 0.0 if sign > 0 else float(np.pi), v_kj / 2.0))
    return torsions


def _uff_impropers(mol, nbr) -> list[tuple]:
    """One OPLS improper per sp2 centre with three neighbours (central atom third): E = V2/2 (1 - cos 2φ),
    V2 = IMPROPER_FACTOR x the UFF inversion constant (kJ/mol)."""
    from rdkit.Chem import ChemicalForceFields as cff
    from rdkit.Chem.rdchem import HybridizationType as Hyb

    impropers = []
    for c in range(len(nbr)):
        at = mol.GetAtomWithIdx(c)
        if len(nbr[c]) != 3 or at.GetHybridization() != Hyb.SP2:
            continue
        a_, b_, d_ = nbr[c]
        kinv = cff.GetUFFInversionParams(mol, a_, c, b_, d_)
        if not kinv:
            continue
        impropers.append((a_, b_, c, d_, (0.0, IMPROPER_FACTOR * kinv * KCAL_TO_KJ, 0.0, 0.0)))
    return impropers


def _packing_order(species: Species, pos: np.ndarray, charges, where: str) -> tuple[np.ndarray, list[float]]:
    """The xTB geometry (Å) and charges (e) with equivalent terminal atoms renumbered to agree with the
    packed boxes' geometry (:func:`ilforge.chem.geometry.species_geometry`): a trans F-F pair of PF6- in
    the boxes is then a trans pair here, with θ0 = 180° (never a 90° term on a 180° pair)."""
    from ilforge.chem.geometry import species_geometry

    perm = align_equivalent_leaves(
        list(species.symbols), species.bonds, pos, lambda: species_geometry(species).positions, where=where
    )
    return pos[perm], [float(charges[p]) for p in perm]


def generic_template(species: Species, method: str = "GFN2-xTB", cache_dir: Path | None = None, seed: int = 0) -> MoleculeTemplate:
    """Parametrise ``species`` with UFF force constants and LJ, xTB geometry and charges."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = species.rdkit_mol()
    xtb = xtb_isolated(species, method, cache_dir, seed)
    where = f"species {species.name} (generic force field)"
    pos, charges = _packing_order(species, np.asarray(xtb["positions_A"], dtype=float), xtb["charges_e"], where)
    sigma, eps, types = _uff_nonbonded(mol, where)
    nbr, bonds = _uff_bonds(mol, species, pos, types, where)
    angles = _uff_angles(mol, nbr, pos, types, where)
    torsions = _uff_torsions(mol, species, nbr)
    impropers = _uff_impropers(mol, nbr)
    tmpl = MoleculeTemplate(
        species=species.name,
        forcefield=FORCEFIELD_NAME,
        symbols=list(species.symbols),
        types=types,
        masses_amu=[a.GetMass() for a in mol.GetAtoms()],
        charges_e=charges,
        sigma_A=sigma,
        epsilon_kJ_mol=eps,
        bonds=bonds,
        angles=angles,
        torsions=[],
        periodic_torsions=torsions,
        impropers=impropers,
        positions_A=pos,
    )
    return tmpl
