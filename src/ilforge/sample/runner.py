"""``ilforge sample``: classical MD sampling of every composition and temperature of a recipe.

For each (composition, temperature): read the packed box (``Project.box``, written by ``ilforge
build``; built on the fly with :func:`ilforge.build.box.build_box` when missing), parametrise its
species (``forcefield`` section), run :func:`ilforge.sample.md.run_classical_md` (``sampling``
section) and write

- ``Project.sampled(cid, T)`` (extxyz): the snapshots, molecules whole, with info ``config_type``
  (classical_md), ``composition_id``, ``temperature_K``, ``forcefield``, ``seed``,
  ``count_<species>`` and arrays ``mol_id``, ``mol_species``, ``ff_type``, ``ff_charge``;
- ``Project.sampled_summary(cid, T)`` (JSON): settings, density trace, mean density, throughput;
- the frames into the project's frame store.

Order (a kill at any moment is safe on rerun): the extxyz (temporary file + rename), then the summary
with ``"stored": false``, then the frames into the store (one transaction, idempotent by frame hash),
then the summary again with ``"stored": true``. A (composition, temperature) whose summary exists
with the same settings is skipped (resumable); if its frames were not yet stored, the frames of
its extxyz are stored now, so a rerun never adds a second, different set of frames.

Small boxes: where the box is narrower than 2 x ``forcefield.cutoff_A`` (the embedded demo's 96-atom
box), :func:`effective_cutoff` shrinks the cutoff and says what that trades; the cutoff used is in
the summary (``cutoff_A``) and in every frame's ``forcefield`` info (e.g.
``CL&P(q*0.8);cutoff=4.5A;switch=1A;ewald=1e-05;tail=on``).
Perturbed copies (rattles, volume scans) are made from stored frames by the label stage's data
strategies (``labels.strategies``), not here.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys, units
from ilforge.errors import IlforgeError
from ilforge.forcefields.assign import forcefield_name, templates_for
from ilforge.forcefields.openmm_system import build_system
from ilforge.build.box import build_box
from ilforge.jsonio import write_json_atomic
from ilforge.progress import Progress
from ilforge.jsonio import write_extxyz_atomic
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


def effective_cutoff(box: Atoms, cutoff_A: float, fraction: float = 0.45, lj_switch_width_A: float = 0.0,
                     lj_tail: bool = True) -> float:
    """``cutoff_A``, or ``fraction`` x the narrowest box width when the box is too small for it
    (minimum image needs width > 2 x cutoff; 0.45 leaves room for the box to shrink under NPT).
    Small boxes are for cheap tests and demos; a warning says what the shorter cutoff trades
    (``lj_switch_width_A``, ``lj_tail``: the force-field settings, for that message)."""
    cell = np.asarray(box.cell[:])
    vol = abs(np.linalg.det(cell))
    width = min(vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3))
    if width * fraction >= cutoff_A:
        return cutoff_A
    reduced = round(fraction * width, 2)
    w = min(lj_switch_width_A, 0.5 * reduced)
    log.warning(
        "box width %.1f Å is too small for forcefield.cutoff_A = %.1f Å (minimum image needs width > 2 x cutoff); "
        "sampling with a %.2f Å cutoff instead. Coulomb is still complete (PME: real space to %.2f Å, the rest "
        "in reciprocal space, ewald_tolerance kept). LJ is %s and %s. Frames record the cutoff used (info "
        "'forcefield'). For production sampling build a box wider than %.1f Å (more box.ion_pairs).",
        width, cutoff_A, reduced, reduced,
        f"switched off between {reduced - w:.2f} and {reduced:.2f} Å" if w > 0 else f"cut at {reduced:.2f} Å",
        "the LJ tail correction adds the LJ energy and pressure beyond it as if the liquid were uniform there "
        "(g(r) = 1), which at this range misses the structure of the first shells: density and local structure "
        "differ from the force field at its published cutoff" if lj_tail
        else "nothing replaces the LJ beyond it (lj_tail off): densities will be off",
        2 * cutoff_A,
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
    """The summary of a finished run with the same force-field and sampling settings, else None.
    A run killed after its summary but before its frames were in the store (``"stored": false``)
    is finished here: the frames of its extxyz go to the store (idempotent by frame hash)."""
    from ase.io import read

    meta_path, xyz_path = project.sampled_summary(comp.id, T), project.sampled(comp.id, T)
    if not (meta_path.is_file() and xyz_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    if not all(meta.get(k) == v for k, v in _settings_doc(recipe).items()):
        log.info("%s: force-field or sampling settings changed since it was sampled; sampling again", xyz_path.stem)
        return None
    if meta.get("stored", True) is False:
        log.info("%s: sampled before an interruption; storing its frames now", xyz_path.stem)
        frames = read(xyz_path, index=":", format="extxyz")
        meta.update(n_stored=store_frames(project, frames, source=f"ilforge sample {state_name(comp.id, T)}"), stored=True)
        write_json_atomic(meta_path, meta)
    return SampleSummary(comp.id, T, meta["n_frames"], meta["mean_density_g_cm3"], meta["ns_per_day"], xyz_path, True)


def _label_frames(frames: list[Atoms], comp, T: float, ffname: str, seed: int) -> list[Atoms]:
    for fr in frames:
        fr.info.update({
            keys.CONFIG_TYPE: keys.CT_CLASSICAL_MD, keys.COMPOSITION_ID: comp.id, keys.TEMPERATURE_K: float(T),
            keys.FORCEFIELD: ffname, keys.SEED: seed, **{keys.count_key(sp): int(n) for sp, n in comp.counts.items()},
        })
    return frames


def _run_md(recipe, box: Atoms, system, info, T: float, seed: int, on_chunk):
    """:func:`run_classical_md` with the recipe's ``sampling`` settings; ``on_chunk(result)`` after every
    reporting interval (None: no progress)."""
    s = recipe.sampling
    return run_classical_md(
        box, system, info, T, pressure_bar=s.pressure_bar, timestep_fs=s.timestep_fs,
        friction_per_ps=s.friction_per_ps, equilibration_ps=s.equilibration_ps, production_ps=s.production_ps,
        ensemble=s.ensemble, equilibration_ensemble=s.equilibration_ensemble, interval_ps=s.interval_ps,
        report_interval_ps=s.report_interval_ps, seed=seed, platform=s.platform, minimize=s.minimize, progress=on_chunk,
    )


def run_length_ps(recipe) -> float:
    """Simulated time of one (composition, temperature) run: equilibration + production (ps)."""
    return float(recipe.sampling.equilibration_ps + recipe.sampling.production_ps)


def _chunk_reporter(progress: Progress | None, T: float, name: str):
    """``on_chunk(result)`` for :func:`run_classical_md`: sets ``progress`` to the ps simulated over all runs
    (this run's time t on top of what ``progress`` had when the run started), with this run's speed
    ns/day = t [ps] · 10⁻³ / (wall [s] / 86400), its latest density (g/cm³) and its target T (K)."""
    if progress is None:
        return None
    offset, t0 = progress.done, time.perf_counter()

    def on_chunk(res) -> None:
        if not res.times_ps:
            return
        t_ps, wall_s = res.times_ps[-1], time.perf_counter() - t0
        ns_day = t_ps * units.PS_TO_NS / (wall_s / units.S_PER_DAY) if wall_s > 0 else 0.0
        progress.set(offset + t_ps, run=name, ns_day=ns_day, rho_g_cm3=res.densities_g_cm3[-1], T_K=float(T))

    return on_chunk


def sample_one(project: Project, recipe, comp, T: float, templates, progress: Progress | None = None) -> SampleSummary:
    """Classical MD of one (composition, temperature): snapshots to ``project.sampled``, the run's
    summary and the frame store, in the order of the module doc (safe against a kill at any moment).
    ``progress`` advances by the ps simulated (:func:`_chunk_reporter`).

    The force field is built from ``recipe.forcefield`` (:meth:`ForceFieldSettings.system_options`,
    the same settings the classical labeler uses) at the :func:`effective_cutoff` of the box."""
    ff = recipe.forcefield
    seed = derive_seed(recipe.seed, "sample", comp.id, T)
    box = make_molecules_whole(load_box(project, recipe, comp, T))
    cutoff = effective_cutoff(box, ff.cutoff_A, lj_switch_width_A=ff.lj_switch_width_A, lj_tail=ff.lj_tail)
    system, info = build_system(box, templates, constraints=ff.constraints, **ff.system_options(cutoff))
    name = state_name(comp.id, T)
    res = _run_md(recipe, box, system, info, T, seed, _chunk_reporter(progress, T, name))
    ffname = f"{forcefield_name(ff)};{ff.level_tag(cutoff)}"
    frames = _label_frames(res.frames, comp, T, ffname, seed)
    xyz_path = project.sampled(comp.id, T)
    project.sampled_dir()
    write_extxyz_atomic(xyz_path, frames)
    mean_rho = res.mean_density() if res.production_start_ps < (res.times_ps[-1] if res.times_ps else 0) else None
    meta = {
        "composition_id": comp.id, "temperature_K": T, "forcefield": ffname, "cutoff_A": cutoff,
        "seed": seed, "n_frames": len(frames), "n_stored": 0, "stored": False, "times_ps": res.times_ps,
        "densities_g_cm3": res.densities_g_cm3, "potential_energies_eV": res.potential_energies_eV,
        "production_start_ps": res.production_start_ps, "mean_density_g_cm3": mean_rho,
        "ns_per_day": res.ns_per_day, "wall_s": res.wall_s, **_settings_doc(recipe),
    }
    meta_path = write_json_atomic(project.sampled_summary(comp.id, T), meta)
    meta.update(n_stored=store_frames(project, frames, source=f"ilforge sample {name}"), stored=True)
    write_json_atomic(meta_path, meta)
    log.info("%s: %d frames, mean density %s g/cm3, %.2f ns/day", name, len(frames), mean_rho, res.ns_per_day)
    return SampleSummary(comp.id, T, len(frames), mean_rho, res.ns_per_day, xyz_path)


def sample_recipe(
    recipe,
    project: Project,
    compositions: list[str] | None = None,
    progress: Progress | None = None,
) -> list[SampleSummary]:
    """Sample every (composition, temperature) of ``recipe`` into ``project``; see the module doc.

    ``compositions``: restrict to these ids. ``progress``: its total is set to the ps of all runs
    (:func:`run_length_ps` each); it advances as MD runs (a run done before counts as done at once).
    """
    lib = recipe.library()
    comps = _select_compositions(recipe, lib, compositions)
    all_species = sorted({sp for c in comps for sp in c.counts})
    templates = templates_for(all_species, lib, recipe.forcefield, cache_dir=project.cache_dir(GENERIC_FF_CACHE),
                              seed=recipe.seed)
    runs = [(c, T) for c in comps for T in recipe.temperatures_K]
    before = [_done_before(project, recipe, comp, T) for comp, T in runs]
    per_run = run_length_ps(recipe)
    if progress is not None:
        progress.start(len(runs) * per_run, done=sum(b is not None for b in before) * per_run)
    summaries = []
    for (comp, T), done in zip(runs, before):
        if done is None:
            base = progress.done if progress is not None else 0
            done = sample_one(project, recipe, comp, T, templates, progress)
            if progress is not None:
                progress.set(base + per_run)  # exact, whatever the rounding of the run's last time
        summaries.append(done)
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
