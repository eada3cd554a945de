"""The labelling stage of a project directory: which frames, which strategies, then run.

:func:`label_project` (``ilforge label``):

1. opens ``<workdir>/frames.db`` and adds the packed boxes ``<workdir>/boxes/*.extxyz``
   (config_type ``box``) next to the frames that sampling put there;
2. selects per composition up to ``labels.frames_per_composition`` sampled frames (evenly spaced
   in insertion order; frames derived by the strategies below are not "sampled") and requests
   their labels at the labeler's level of theory;
3. applies the data strategies (rattles, volume scans: new frames requested like the others;
   reference MD, relaxations: jobs on a parent frame that return labelled frames);
4. computes isolated-atom (and, when asked, isolated-ion) energies at the same level;
5. runs every pending task with the compute backend (:mod:`ilforge.engine`).

Every step is idempotent: a rerun adds nothing twice and labels only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ilforge import keys
from ilforge.engine.compute import ComputeSettings
from ilforge.engine.runner import RunSummary, make_executor, run_labelling
from ilforge.engine.tasks import LabelerSpec, task_string
from ilforge.errors import IlforgeError
from ilforge.reference import strategies
from ilforge.reference.isolated import compute_isolated_atoms, compute_isolated_ions
from ilforge.reference.registry import make_labeler
from ilforge.store.frames import DONE, FAILED, PENDING, SINGLE_POINT, FrameStore

log = logging.getLogger(__name__)

_BOX_NAME = re.compile(r"^(?P<cid>.+)_(?P<T>[0-9.]+)K$")


@dataclass
class LabelPlan:
    level_of_theory: str
    selected: int = 0
    new_requests: int = 0
    jobs: int = 0
    isolated: dict = field(default_factory=dict)
    isolated_error: str = ""


def import_boxes(store: FrameStore, workdir: Path) -> list[str]:
    """Add ``workdir/boxes/*.extxyz`` to the store (config_type box; composition and temperature
    from the frame's info, else from the file name ``<composition_id>_<T>K.extxyz``)."""
    from ase.io import read

    hashes = []
    for path in sorted((workdir / "boxes").glob("*.extxyz")):
        m = _BOX_NAME.match(path.stem)
        for a in read(path, index=":"):
            cid = a.info.get(keys.COMPOSITION_ID) or (m.group("cid") if m else None)
            temp = a.info.get(keys.TEMPERATURE_K) or (float(m.group("T")) if m else None)
            hashes.append(store.add(a, config_type=a.info.get(keys.CONFIG_TYPE, keys.CT_BOX), composition_id=cid,
                                    temperature_K=temp, source=a.info.get(keys.SOURCE, f"boxes/{path.name}")))
    return hashes


def _evenly(items: list, n: int) -> list:
    """``n`` items evenly spaced over ``items`` (all when n is 0 or >= len)."""
    if n <= 0 or n >= len(items):
        return list(items)
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, n)).astype(int))
    return [items[i] for i in idx]


def select_frames(store: FrameStore, settings, level_of_theory: str) -> dict[str, list]:
    """Sampled frames to label, per composition: those already requested at this level plus
    evenly spaced new ones up to ``frames_per_composition`` (0: all)."""
    requested = {r.frame_hash for r in store.label_records(level_of_theory)}
    by_comp: dict[str, list] = {}
    for a in store.frames():
        if str(a.info.get(keys.SOURCE, "")).startswith(strategies.STRATEGY_SOURCE):
            continue
        if settings.config_types is not None and a.info.get(keys.CONFIG_TYPE) not in settings.config_types:
            continue
        by_comp.setdefault(str(a.info.get(keys.COMPOSITION_ID)), []).append(a)
    out = {}
    for cid, frames in by_comp.items():
        have = [a for a in frames if a.info[keys.FRAME_HASH] in requested]
        new = [a for a in frames if a.info[keys.FRAME_HASH] not in requested]
        cap = settings.frames_per_composition
        n_new = len(new) if cap == 0 else max(0, cap - len(have))
        out[cid] = have + _evenly(new, n_new) if n_new else have
    return out


def _strategy_requests(store: FrameStore, settings, selected: dict[str, list], lot: str, seed: int) -> tuple[int, int]:
    st = settings.strategies
    new, jobs = 0, 0
    for cid, frames in selected.items():
        if st.rattle.copies:
            for parent in _evenly(frames, st.rattle.frames_per_composition):
                ph = parent.info[keys.FRAME_HASH]
                kids = strategies.rattle(parent, st.rattle.copies, st.rattle.stdev_A,
                                         strategies.derived_seed(seed, ph, f"rattle{st.rattle.stdev_A:g}"))
                hs = [store.add(k) for k in kids]
                new += store.request(hs, lot)
        if st.volume_scan.percent:
            for parent in _evenly(frames, st.volume_scan.frames_per_composition):
                ph = parent.info[keys.FRAME_HASH]
                kids = strategies.volume_scan(parent, st.volume_scan.percent)
                hs = [store.add(k) for k in kids]
                new += store.request(hs, lot)
        md = st.reference_md
        if md.steps:
            for parent in _evenly(frames, md.frames_per_composition):
                ph = parent.info[keys.FRAME_HASH]
                temp = md.temperature_K or parent.info.get(keys.TEMPERATURE_K) or 298.15
                params = {"steps": md.steps, "keep_every": md.keep_every, "timestep_fs": md.timestep_fs,
                          "temperature_K": float(temp), "friction_per_fs": md.friction_per_fs,
                          "seed": strategies.derived_seed(seed, ph, "reference_md")}
                jobs += store.request([ph], lot, task_string("reference_md", params))
        rx = st.relax
        if rx.steps:
            for parent in _evenly(frames, rx.frames_per_composition):
                params = {"steps": rx.steps, "keep_every": rx.keep_every, "fmax_eV_A": rx.fmax_eV_A}
                jobs += store.request([parent.info[keys.FRAME_HASH]], lot, task_string("relax", params))
    return new, jobs


def _species_geometries(recipe, seed: int) -> dict:
    """RDKit (ETKDG, seeded) geometry of every species of the recipe, info ``charge_e`` = formal charge."""
    from ase import Atoms
    from rdkit.Chem import AllChem

    lib = recipe.library()
    out = {}
    for comp in recipe.resolve_compositions(lib):
        for name in comp.counts:
            if name in out:
                continue
            sp = lib.get(name)
            mol = sp.rdkit_mol()
            if mol.GetNumAtoms() > 1:
                AllChem.EmbedMolecule(mol, randomSeed=seed)
                pos = mol.GetConformer().GetPositions()
            else:
                pos = np.zeros((1, 3))
            a = Atoms(sp.symbols, positions=pos)
            a.info["charge_e"] = sp.charge
            out[name] = a
    return out


def plan_labels(store: FrameStore, recipe, labeler, workdir: Path) -> LabelPlan:
    """Steps 1-4 of :func:`label_project` (everything but running the pending tasks)."""
    settings = recipe.labels
    lot = labeler.level_of_theory
    seed = settings.seed if settings.seed is not None else recipe.seed
    plan = LabelPlan(lot)
    import_boxes(store, workdir)
    selected = select_frames(store, settings, lot)
    plan.selected = sum(len(v) for v in selected.values())
    with store.transaction():
        plan.new_requests = store.request([a.info[keys.FRAME_HASH] for v in selected.values() for a in v], lot)
        new, plan.jobs = _strategy_requests(store, settings, selected, lot, seed)
        plan.new_requests += new
    if settings.isolated_atoms or settings.isolated_ions:
        elements = {s for v in selected.values() for a in v for s in a.get_chemical_symbols()}
        try:
            if settings.isolated_atoms:
                plan.isolated = compute_isolated_atoms(labeler, store, elements)
            if settings.isolated_ions:
                plan.isolated.update(compute_isolated_ions(labeler, store, _species_geometries(recipe, seed)))
        except Exception as exc:  # E0s are not worth stopping the labelling for; report them
            plan.isolated_error = f"{type(exc).__name__}: {exc}"
            log.warning("isolated energies at %s failed: %s", lot, plan.isolated_error)
    return plan


@contextlib.contextmanager
def _exclusive(workdir: Path):
    """One labelling run per project directory at a time (an flock, released by the kernel even on SIGKILL)."""
    import fcntl

    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / ".label.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IlforgeError(f"another `ilforge label` is running on {workdir}; wait for it or stop it") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def label_project(recipe, workdir: str | Path, compute: ComputeSettings | None = None, recipe_path: str | None = None,
                  retry_failed: bool = False, progress=None) -> tuple[LabelPlan, RunSummary, dict]:
    """Label a project directory (see module docstring). Returns the plan, the run summary and
    the final status counts of single-point labels at the level of theory."""
    workdir = Path(workdir)
    with _exclusive(workdir):
        return _label_project(recipe, workdir, compute, recipe_path, retry_failed, progress)


def _label_project(recipe, workdir: Path, compute, recipe_path, retry_failed, progress):
    compute = compute or ComputeSettings()
    store = FrameStore.open(workdir / "frames.db")
    labeler = make_labeler(recipe.labels, recipe, workdir)
    lot = labeler.level_of_theory
    plan = plan_labels(store, recipe, labeler, workdir)
    if retry_failed:
        store.reset_failed(lot)
    spec = LabelerSpec(recipe.labels.model_dump_json(), str(recipe_path) if recipe_path else None, str(workdir))
    with make_executor(compute) as executor:
        summary = run_labelling(store, spec, lot, executor, recipe.labels.max_attempts, progress=progress)
    counts = store.status_counts(lot)
    return plan, summary, counts


__all__ = ["label_project", "run_stage", "plan_labels", "select_frames", "import_boxes", "LabelPlan", "DONE", "FAILED",
           "PENDING", "SINGLE_POINT"]


def run_stage(recipe, workdir: str | Path, compute: ComputeSettings | None = None) -> dict:
    """The ``label`` stage of ``ilforge run``: :func:`label_project`, summarised as JSON-able dict."""
    copy = Path(workdir) / "recipe.yaml"  # written by `ilforge run`; workers rebuild recipe-bound labelers from it
    plan, summary, counts = label_project(recipe, workdir, compute, recipe_path=copy if copy.is_file() else None)
    return {
        "level_of_theory": plan.level_of_theory, "selected": plan.selected, "new_requests": plan.new_requests,
        "strategy_jobs": plan.jobs, "isolated_energies_eV": plan.isolated, "isolated_error": plan.isolated_error,
        "done_this_run": summary.done, "failed_this_run": summary.failed, "failed_attempts": summary.failed_attempts,
        "wall_s": round(summary.wall_s, 2), "status": counts,
    }
