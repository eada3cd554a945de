"""``ilforge sample``: classical MD sampling of every composition and temperature of a recipe.

For each (composition, temperature): read the packed box (``Project.box``, written by ``ilforge
build``; built on the fly with :func:`ilforge.build.box.build_box` when missing), parametrise its
species (``forcefield`` section), run :func:`ilforge.sample.md.run_classical_md` (``sampling``
section) and write

- ``Project.sampled(cid, T)`` (extxyz): the snapshots, molecules whole, with info ``config_type``
  (classical_md), ``composition_id``, ``temperature_K``, ``forcefield``, ``seed``,
  ``count_<species>`` and arrays ``mol_id``, ``mol_species``, ``ff_type``, ``ff_charge``;
- the frames into the project's frame store;
- ``Project.sampled_summary(cid, T)`` (JSON, written last): settings, density trace, mean density,
  throughput.

A (composition, temperature) whose summary exists with the same settings is skipped (resumable).
Perturbed copies (rattles, volume scans) are made from stored frames by the label stage's data
strategies (``labels.strategies``), not here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.forcefields.assign import forcefield_name, templates_for
from ilforge.forcefields.openmm_system import build_system
from ilforge.build.box import build_box
from ilforge.jsonio import write_json_atomic
from ilforge.project import GENERIC_FF_CACHE, Project, state_name
from ilforge.sample.md import make_molecules_whole, run_classical_md
from ilforge.seeds import derive_seed
from ilforge.store.frames import FrameStore

log = logging.getLogger(__name__)


@dataclass
class SampleSummary:
    composition_id: str
    temperature_K: float
    n_frames: int
    mean_density_g_cm3: float | None
    ns_per_day: float
    path: Path
    skipped: bool = False


def load_box(project: Project, recipe, composition, temperature_K: float) -> Atoms:
    """The packed box of a composition and temperature: from the project's boxes or built now."""
    from ase.io import read

    path = project.box(composition.id, temperature_K)
    if path.is_file():
        return read(path)
    for cid, T, p in project.boxes():
        if cid == composition.id and T is not None and abs(T - temperature_K) < 1e-6:
            return read(p)
    return build_box(recipe, composition, temperature_K, derive_seed(recipe.seed, "box", composition.id, temperature_K))


def effective_cutoff(box: Atoms, cutoff_A: float, fraction: float = 0.45) -> float:
    """``cutoff_A``, or ``fraction`` x the narrowest box width when the box is too small for it
    (minimum image needs width > 2 x cutoff; 0.45 leaves room for the box to shrink under NPT).
    Small boxes are for cheap tests and demos; a warning says so."""
    cell = np.asarray(box.cell[:])
    vol = abs(np.linalg.det(cell))
    width = min(vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3))
    if width * fraction >= cutoff_A:
        return cutoff_A
    reduced = round(fraction * width, 2)
    log.warning(
        "box width %.1f Å is too small for the %.1f Å cutoff; using %.2f Å (make the box bigger for production)",
        width, cutoff_A, reduced,
    )
    return reduced


def store_frames(project: Project, frames: list[Atoms], source: str) -> int:
    """Add ``frames`` to the project's frame store in one transaction (metadata from their info); returns how many."""
    store = FrameStore.open(project.frames_db)
    return len(store.add_many(frames, source=source))


def _select_compositions(recipe, lib, compositions: list[str] | None) -> list:
    comps = recipe.resolve_compositions(lib)
    if compositions:
        unknown = sorted(set(compositions) - {c.id for c in comps})
        if unknown:
            raise IlforgeError(f"unknown composition ids {unknown}; the recipe has {[c.id for c in comps]}")
        comps = [c for c in comps if c.id in compositions]
    return comps


def _settings_doc(recipe) -> dict:
    return {"forcefield_settings": json.loads(recipe.forcefield.model_dump_json()),
            "sampling_settings": json.loads(recipe.sampling.model_dump_json())}


def _done_before(project: Project, recipe, comp, T: float) -> SampleSummary | None:
    """The summary of a finished run with the same force-field and sampling settings, else None."""
    meta_path, xyz_path = project.sampled_summary(comp.id, T), project.sampled(comp.id, T)
    if not (meta_path.is_file() and xyz_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    if all(meta.get(k) == v for k, v in _settings_doc(recipe).items()):
        return SampleSummary(comp.id, T, meta["n_frames"], meta["mean_density_g_cm3"], meta["ns_per_day"], xyz_path, True)
    log.info("%s: force-field or sampling settings changed since it was sampled; sampling again", xyz_path.stem)
    return None


def _label_frames(frames: list[Atoms], comp, T: float, ffname: str, seed: int) -> list[Atoms]:
    for fr in frames:
        fr.info.update({
            keys.CONFIG_TYPE: keys.CT_CLASSICAL_MD, keys.COMPOSITION_ID: comp.id, keys.TEMPERATURE_K: float(T),
            keys.FORCEFIELD: ffname, keys.SEED: seed, **{keys.count_key(sp): int(n) for sp, n in comp.counts.items()},
        })
    return frames


def sample_one(project: Project, recipe, comp, T: float, templates, progress=None) -> SampleSummary:
    """Classical MD of one (composition, temperature): snapshots to ``project.sampled``, the frame
    store, and the run's summary (written last: it marks the run complete)."""
    from ase.io import write

    ff, s = recipe.forcefield, recipe.sampling
    seed = derive_seed(recipe.seed, "sample", comp.id, T)
    box = make_molecules_whole(load_box(project, recipe, comp, T))
    cutoff = effective_cutoff(box, ff.cutoff_A)
    system, info = build_system(box, templates, charge_scale=ff.charge_scale, cutoff_A=cutoff,
                                constraints=ff.constraints, ewald_tolerance=ff.ewald_tolerance)
    total, name = s.equilibration_ps + s.production_ps, state_name(comp.id, T)
    res = run_classical_md(
        box, system, info, T, pressure_bar=s.pressure_bar, timestep_fs=s.timestep_fs,
        friction_per_ps=s.friction_per_ps, equilibration_ps=s.equilibration_ps, production_ps=s.production_ps,
        ensemble=s.ensemble, interval_ps=s.interval_ps, report_interval_ps=s.report_interval_ps, seed=seed,
        platform=s.platform, minimize=s.minimize,
        progress=(lambda r: progress(name, r.times_ps[-1], total)) if progress else None,
    )
    frames = _label_frames(res.frames, comp, T, forcefield_name(ff), seed)
    xyz_path = project.sampled(comp.id, T)
    project.sampled_dir()
    write(xyz_path, frames, format="extxyz")
    n_store = store_frames(project, frames, source=f"ilforge sample {name}")
    mean_rho = res.mean_density() if res.production_start_ps < (res.times_ps[-1] if res.times_ps else 0) else None
    meta = {
        "composition_id": comp.id, "temperature_K": T, "forcefield": forcefield_name(ff), "cutoff_A": cutoff,
        "seed": seed, "n_frames": len(frames), "n_stored": n_store, "times_ps": res.times_ps,
        "densities_g_cm3": res.densities_g_cm3, "potential_energies_eV": res.potential_energies_eV,
        "production_start_ps": res.production_start_ps, "mean_density_g_cm3": mean_rho,
        "ns_per_day": res.ns_per_day, "wall_s": res.wall_s, **_settings_doc(recipe),
    }
    write_json_atomic(project.sampled_summary(comp.id, T), meta)
    log.info("%s: %d frames, mean density %s g/cm3, %.2f ns/day", name, len(frames), mean_rho, res.ns_per_day)
    return SampleSummary(comp.id, T, len(frames), mean_rho, res.ns_per_day, xyz_path)


def sample_recipe(
    recipe,
    project: Project,
    compositions: list[str] | None = None,
    progress: Callable[[str, float, float], None] | None = None,
) -> list[SampleSummary]:
    """Sample every (composition, temperature) of ``recipe`` into ``project``; see the module doc.

    ``compositions``: restrict to these ids. ``progress(run, t_ps, total_ps)`` is called as MD advances.
    """
    lib = recipe.library()
    comps = _select_compositions(recipe, lib, compositions)
    all_species = sorted({sp for c in comps for sp in c.counts})
    templates = templates_for(all_species, lib, recipe.forcefield, cache_dir=project.cache_dir(GENERIC_FF_CACHE),
                              seed=recipe.seed)
    summaries = []
    for comp in comps:
        for T in recipe.temperatures_K:
            done = _done_before(project, recipe, comp, T)
            summaries.append(done or sample_one(project, recipe, comp, T, templates, progress))
    return summaries


def molecules_intact(atoms: Atoms, templates, tolerance_A: float = 0.5) -> bool:
    """True when every bond of every molecule is within ``tolerance_A`` of its equilibrium length
    (molecules whole: no bond spans the periodic boundary)."""
    from ilforge.forcefields.openmm_system import molecules_of

    for sp, idx in molecules_of(atoms):
        for a, b, r0, *_ in templates[sp].bonds:
            d = np.linalg.norm(atoms.positions[idx[a]] - atoms.positions[idx[b]])
            if abs(d - r0) > tolerance_A:
                return False
    return True
