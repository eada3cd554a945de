"""Periodic starting boxes: one per composition and temperature, packed with Packmol at a target
density (experimental where known, else estimated), molecules whole.

Each box is an ``ase.Atoms`` with per-atom arrays ``mol_id`` (int) and ``mol_species`` (str) and
info ``composition_id``, ``temperature_K``, ``density_g_cm3``, ``density_source``, ``count_<species>``
and ``seed``. Total charge is zero by construction (the recipe checks neutrality) and is
checked again here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write
from ase.neighborlist import neighbor_list

from ilforge import keys
from ilforge.build.density import target_density
from ilforge.build.packmol import pack
from ilforge.chem.geometry import species_geometry
from ilforge.chem.mixture import Composition, net_charge
from ilforge.chem.species import Species
from ilforge.chem.volume import vdw_volume_A3
from ilforge.units import volume_A3_for_density
from ilforge.errors import BuildError
from ilforge.project import Project

log = logging.getLogger(__name__)

#: Packmol tolerance (minimum distance between atoms of different molecules while packing), Å
PACKMOL_TOLERANCE_A = 2.0
#: accepted minimum distance between atoms of different molecules in the result, Å
MIN_INTERMOLECULAR_A = 1.6
#: attempts: the first at the requested settings, then new seeds with more Packmol loops
MAX_ATTEMPTS = 3
#: largest fraction of the box that the molecules' van der Waals volume may fill (random close
#: packing of spheres is 0.64; liquids sit near 0.6-0.7 of vdW volume / molar volume)
MAX_PACKING_FRACTION = 0.85


@dataclass(frozen=True)
class BoxSpec:
    """Everything that determines a box; its hash names the inputs in the box file."""

    composition_id: str
    counts: tuple[tuple[str, int], ...]
    temperature_K: float
    density_g_cm3: float
    density_source: str
    seed: int

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True, default=list).encode()).hexdigest()[:16]


def min_intermolecular_distance(atoms: Atoms, cutoff_A: float = 4.0) -> float:
    """Smallest distance (Å, minimum image) between atoms of different molecules."""
    i, j, d = neighbor_list("ijd", atoms, cutoff_A)
    mol = atoms.arrays[keys.MOL_ID]
    inter = mol[i] != mol[j]
    return float(d[inter].min()) if np.any(inter) else float("inf")


def box_spec(
    composition: Composition, species: dict[str, Species], temperature_K: float, seed: int, density_override: float | None = None
) -> BoxSpec:
    rho, source = target_density(composition.counts, species, temperature_K, density_override)
    return BoxSpec(composition.id, tuple(composition.counts.items()), float(temperature_K), float(rho), source, int(seed))


def _packing_volume(spec: BoxSpec, species: dict[str, Species], counts: dict[str, int]) -> tuple[list, float]:
    """Neutrality and density checks; the molecule geometries and the cubic box edge (Å).

    The box volume follows from the mass and the target density, V = m / ρ (Å3); a volume barely larger
    than the summed van der Waals volumes (packing fraction above MAX_PACKING_FRACTION) is rejected.
    Returns ``(mols, length)`` with ``mols`` a list of ``(geometry, count)`` in ``counts`` order.
    """
    charges = {s: species[s].charge for s in counts}
    q = net_charge(counts, charges)
    if q != 0:
        raise BuildError(f"composition {spec.composition_id}: net charge {q:+d} e; the box must be neutral")
    mols = [(species_geometry(species[s], seed=spec.seed), n) for s, n in counts.items()]
    mass = sum(n * species[s].mass_amu for s, n in counts.items())
    volume = volume_A3_for_density(mass, spec.density_g_cm3)
    v_vdw = sum(n * vdw_volume_A3(species[s]) for s, n in counts.items())
    if v_vdw > MAX_PACKING_FRACTION * volume:
        raise BuildError(
            f"composition {spec.composition_id}: at {spec.density_g_cm3:.3f} g/cm3 the box ({volume:.0f} Å3) is barely "
            f"larger than the molecules' own van der Waals volume ({v_vdw:.0f} Å3); the density is unphysically high: "
            f"lower box.density_g_cm3 (source: {spec.density_source})"
        )
    return mols, volume ** (1.0 / 3.0)


def _molecule_labels(mols: list, counts: dict[str, int]) -> tuple[list, list, list]:
    """Per-atom chemical symbols, molecule index and species name, in the order Packmol places molecules."""
    symbols, mol_id, mol_species = [], [], []
    k = 0
    for (mol, n), s in zip(mols, counts):
        for _ in range(n):
            symbols += mol.get_chemical_symbols()
            mol_id += [k] * len(mol)
            mol_species += [s] * len(mol)
            k += 1
    return symbols, mol_id, mol_species


def _tag_box(atoms: Atoms, spec: BoxSpec, counts: dict[str, int]) -> None:
    """Write the box provenance (composition, temperature, density, seed, hash, counts) into ``atoms.info``."""
    atoms.info.update(
        {
            keys.CONFIG_TYPE: keys.CT_BOX,
            keys.COMPOSITION_ID: spec.composition_id,
            keys.TEMPERATURE_K: spec.temperature_K,
            keys.DENSITY_G_CM3: spec.density_g_cm3,
            keys.DENSITY_SOURCE: spec.density_source,
            keys.SEED: spec.seed,
            "box_hash": spec.digest(),
            **{keys.count_key(s): int(n) for s, n in counts.items()},
        }
    )


def pack_box(spec: BoxSpec, species: dict[str, Species]) -> Atoms:
    """Pack the box described by ``spec``; retried with new seeds and more loops when Packmol fails."""
    counts = dict(spec.counts)
    mols, length = _packing_volume(spec, species, counts)
    symbols, mol_id, mol_species = _molecule_labels(mols, counts)
    errors = []
    for attempt in range(MAX_ATTEMPTS):
        try:
            pos = pack(
                mols,
                length,
                PACKMOL_TOLERANCE_A,
                seed=spec.seed + 7919 * attempt,
                nloop=200 * (1 + 2 * attempt),
                move_bad_random=attempt > 0,  # looser start: misplaced molecules restart anywhere
            )
        except BuildError as exc:
            errors.append(f"attempt {attempt + 1}: {exc}")
            log.warning("packing %s failed (attempt %d), retrying with a new seed and more loops", spec.composition_id, attempt + 1)
            continue
        atoms = Atoms(symbols=symbols, positions=pos, cell=[length] * 3, pbc=True)
        atoms.arrays[keys.MOL_ID] = np.array(mol_id, dtype=int)
        atoms.arrays[keys.MOL_SPECIES] = np.array(mol_species, dtype="U24")
        dmin = min_intermolecular_distance(atoms)
        if dmin < MIN_INTERMOLECULAR_A:
            errors.append(f"attempt {attempt + 1}: closest atoms of different molecules {dmin:.2f} Å < {MIN_INTERMOLECULAR_A} Å")
            continue
        _tag_box(atoms, spec, counts)
        return atoms
    raise BuildError(
        f"could not pack composition {spec.composition_id} at {spec.density_g_cm3:.3f} g/cm3 "
        f"(box {length:.1f} Å) after {MAX_ATTEMPTS} attempts:\n  " + "\n  ".join(errors)
        + "\nTry a lower box.density_g_cm3 or a larger box."
    )


def build_box(recipe, composition: Composition, temperature_K: float, seed: int | None = None) -> Atoms:
    """One packed box for ``composition`` of ``recipe`` at ``temperature_K`` (library entry point)."""
    lib = recipe.library()
    species = {sp.name: sp for sp in lib}
    spec = box_spec(composition, species, temperature_K, recipe.seed if seed is None else seed, recipe.box.density_g_cm3)
    return pack_box(spec, species)


def _up_to_date(path: Path, spec: BoxSpec) -> bool:
    """Whether the box file ``path`` was packed from ``spec`` (same ``box_hash``)."""
    if not path.exists():
        return False
    try:
        return read(path).info.get("box_hash") == spec.digest()
    except Exception:  # noqa: BLE001 - an unreadable file is rebuilt
        log.warning("box %s is unreadable; rebuilding", path)
        return False


def build_boxes(recipe, project: Project, force: bool = False, progress=None) -> list[Path]:
    """Build every box of ``recipe`` into the project's boxes; boxes already built from the same
    inputs (same ``box_hash``) are kept. Returns the box files."""
    lib = recipe.library()
    species = {sp.name: sp for sp in lib}
    project.boxes_dir()
    paths = []
    for comp in recipe.resolve_compositions(lib):
        for temp in recipe.temperatures_K:
            spec = box_spec(comp, species, temp, recipe.seed, recipe.box.density_g_cm3)
            path = project.box(comp.id, temp)
            if force or not _up_to_date(path, spec):
                atoms = pack_box(spec, species)
                tmp = path.with_suffix(".tmp.extxyz")
                write(tmp, atoms, format="extxyz")
                tmp.replace(path)  # atomic: a crash never leaves a half-written box
            else:
                log.info("box %s is up to date", path.name)
            paths.append(path)
            if progress:
                progress(path)
    return paths
