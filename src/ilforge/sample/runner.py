"""``ilforge sample``: classical MD sampling of every composition and temperature of a recipe.

For each (composition, temperature): read the packed box (``DIR/boxes/<id>_<T>K.extxyz``, written
by ``ilforge build``; built on the fly with :func:`ilforge.build.box.build_box` when missing),
parametrise its species (``forcefield`` section), run :func:`ilforge.sample.md.run_md`
(``sampling`` section), add rattled copies and volume scans of every snapshot, and write

- ``DIR/sampled/<id>_<T>K.extxyz``: the snapshots and their perturbed copies, molecules whole, with
  info ``config_type`` (classical_md | rattle | volume_scan), ``composition_id``, ``temperature_K``,
  ``forcefield``, ``seed``, ``count_<species>`` and arrays ``mol_id``, ``mol_species``, ``ff_type``,
  ``ff_charge``;
- ``DIR/sampled/<id>_<T>K.json``: settings, density trace, mean density, throughput;
- frames into ``DIR/frames.db`` when the frame store (``ilforge.store.frames``) is available.

A (composition, temperature) whose JSON exists is skipped (resumable).
"""

from __future__ import annotations

import hashlib
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
from ilforge.sample.md import make_molecules_whole, run_md
from ilforge.sample.perturb import rattle, volume_scan

log = logging.getLogger(__name__)


def run_name(composition_id: str, temperature_K: float) -> str:
    """File stem of a (composition, temperature) run: ``<id>_<T>K`` (e.g. ``neat_298.15K``)."""
    return f"{composition_id}_{temperature_K:g}K"


def derived_seed(seed: int, *parts) -> int:
    """A stable 31-bit seed from the recipe seed and the run's identity (same inputs, same seed)."""
    h = hashlib.sha256("|".join(str(p) for p in (seed, *parts)).encode()).hexdigest()
    return int(h[:8], 16) % (2**31 - 1)


@dataclass
class SampleSummary:
    composition_id: str
    temperature_K: float
    n_frames: int
    mean_density_g_cm3: float | None
    ns_per_day: float
    path: Path
    skipped: bool = False


def load_box(workdir: Path, recipe, composition, temperature_K: float) -> Atoms:
    """The packed box of a composition and temperature: from ``DIR/boxes`` or built now."""
    from ase.io import read

    path = Path(workdir) / "boxes" / f"{run_name(composition.id, temperature_K)}.extxyz"
    if path.is_file():
        return read(path)
    cands = sorted((Path(workdir) / "boxes").glob(f"{composition.id}_*K.extxyz"))
    for c in cands:
        at = read(c)
        if abs(float(at.info.get(keys.TEMPERATURE_K, -1)) - temperature_K) < 1e-6:
            return at
    try:
        from ilforge.build.box import build_box
    except ImportError:
        raise IlforgeError(
            f"no box {path}; run `ilforge build RECIPE --workdir {workdir}` first"
        ) from None
    return build_box(recipe, composition, temperature_K, derived_seed(recipe.seed, "box", composition.id, temperature_K))


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


def store_frames(workdir: Path, frames: list[Atoms], source: str) -> int:
    """Add ``frames`` to ``DIR/frames.db`` in one transaction (metadata from their info); returns how many."""
    from ilforge.store.frames import FrameStore

    store = FrameStore.open(Path(workdir) / "frames.db")
    return len(store.add_many(frames, source=source))


def sample_recipe(
    recipe,
    workdir: str | Path,
    compositions: list[str] | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str, float, float], None] | None = None,
) -> list[SampleSummary]:
    """Sample every (composition, temperature) of ``recipe`` into ``workdir``; see the module doc.

    ``compositions``: restrict to these ids. ``progress(run, t_ps, total_ps)`` is called as MD advances.
    """
    from ase.io import write

    workdir = Path(workdir)
    lib = recipe.library()
    comps = recipe.resolve_compositions(lib)
    if compositions:
        unknown = sorted(set(compositions) - {c.id for c in comps})
        if unknown:
            raise IlforgeError(f"unknown composition ids {unknown}; the recipe has {[c.id for c in comps]}")
        comps = [c for c in comps if c.id in compositions]
    ff, s = recipe.forcefield, recipe.sampling
    ffname = forcefield_name(ff)
    cache_dir = cache_dir or workdir / "cache" / "generic_ff"
    all_species = sorted({sp for c in comps for sp in c.counts})
    templates = templates_for(all_species, lib, ff, cache_dir=cache_dir, seed=recipe.seed)
    outdir = workdir / "sampled"
    outdir.mkdir(parents=True, exist_ok=True)
    summaries = []
    for comp in comps:
        for T in recipe.temperatures_K:
            name = run_name(comp.id, T)
            meta_path = outdir / f"{name}.json"
            xyz_path = outdir / f"{name}.extxyz"
            if meta_path.is_file() and xyz_path.is_file():
                meta = json.loads(meta_path.read_text())
                same = (meta.get("forcefield_settings") == json.loads(ff.model_dump_json())
                        and meta.get("sampling_settings") == json.loads(s.model_dump_json()))
                if same:
                    summaries.append(SampleSummary(comp.id, T, meta["n_frames"], meta["mean_density_g_cm3"], meta["ns_per_day"], xyz_path, True))
                    continue
                log.info("%s: force-field or sampling settings changed since it was sampled; sampling again", name)
            seed = derived_seed(recipe.seed, "sample", comp.id, T)
            box = make_molecules_whole(load_box(workdir, recipe, comp, T))
            cutoff = effective_cutoff(box, ff.cutoff_A)
            system, info = build_system(
                box, templates, charge_scale=ff.charge_scale, cutoff_A=cutoff,
                constraints=ff.constraints, ewald_tolerance=ff.ewald_tolerance,
            )
            total = s.equilibration_ps + s.production_ps
            res = run_md(
                box, system, info, T, pressure_bar=s.pressure_bar, timestep_fs=s.timestep_fs,
                friction_per_ps=s.friction_per_ps, equilibration_ps=s.equilibration_ps,
                production_ps=s.production_ps, ensemble=s.ensemble, interval_ps=s.interval_ps,
                report_interval_ps=s.report_interval_ps, seed=seed, platform=s.platform, minimize=s.minimize,
                progress=(lambda r, _n=name: progress(_n, r.times_ps[-1], total)) if progress else None,
            )
            frames: list[Atoms] = []
            for k, fr in enumerate(res.frames):
                fr.info.update({
                    keys.CONFIG_TYPE: keys.CT_CLASSICAL_MD,
                    keys.COMPOSITION_ID: comp.id,
                    keys.TEMPERATURE_K: float(T),
                    keys.FORCEFIELD: ffname,
                    keys.SEED: seed,
                    **{keys.count_key(sp): int(n) for sp, n in comp.counts.items()},
                })
                frames.append(fr)
                for r in range(s.rattle_copies):
                    frames.append(rattle(fr, s.rattle_stdev_A, derived_seed(seed, "rattle", k, r)))
                for pct in s.volume_scan_percent:
                    frames.append(volume_scan(fr, pct))
            write(xyz_path, frames, format="extxyz")
            n_store = store_frames(workdir, frames, source=f"ilforge sample {name}")
            mean_rho = res.mean_density() if res.production_start_ps < (res.times_ps[-1] if res.times_ps else 0) else None
            meta = {
                "composition_id": comp.id,
                "temperature_K": T,
                "forcefield": ffname,
                "cutoff_A": cutoff,
                "seed": seed,
                "n_frames": len(frames),
                "n_stored": n_store,
                "times_ps": res.times_ps,
                "densities_g_cm3": res.densities_g_cm3,
                "potential_energies_eV": res.potential_energies_eV,
                "production_start_ps": res.production_start_ps,
                "mean_density_g_cm3": mean_rho,
                "ns_per_day": res.ns_per_day,
                "wall_s": res.wall_s,
                "forcefield_settings": json.loads(ff.model_dump_json()),
                "sampling_settings": json.loads(s.model_dump_json()),
            }
            meta_path.write_text(json.dumps(meta, indent=1))
            summaries.append(SampleSummary(comp.id, T, len(frames), mean_rho, res.ns_per_day, xyz_path))
            log.info("%s: %d frames, mean density %s g/cm3, %.2f ns/day", name, len(frames), mean_rho, res.ns_per_day)
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
