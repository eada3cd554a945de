"""What to label in a project: which frames, which strategies, isolated energies (the plan).

:func:`plan_labels` (called by :func:`ilforge.reference.stage.run_label`, which then runs the
pending tasks with :func:`ilforge.reference.runner.run_labelling`):

1. adds the project's packed boxes (:meth:`ilforge.project.Project.boxes`, config_type ``box``)
   to the frame store next to the frames that sampling put there;
2. selects per composition up to ``labels.frames_per_composition`` sampled frames (evenly spaced
   in insertion order; frames derived by the strategies below are not "sampled") and requests
   their labels at the labeler's level of theory;
3. applies the data strategies (rattles, volume scans: new frames requested like the others;
   reference MD, relaxations: jobs on a parent frame that return labelled frames); their seeds
   are :func:`ilforge.seeds.derive_seed` of the labels seed, the parent's hash and the strategy;
4. computes isolated-atom (and, when asked, isolated-ion) energies at the same level.

Every step is idempotent: a rerun adds nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ilforge import keys
from ilforge.project import Project
from ilforge.reference import strategies
from ilforge.reference.isolated import compute_isolated_atoms, compute_isolated_ions
from ilforge.reference.label_task import task_string
from ilforge.seeds import derive_seed
from ilforge.store.frames import FrameStore

log = logging.getLogger(__name__)


@dataclass
class LabelPlan:
    level_of_theory: str
    selected: int = 0
    new_requests: int = 0
    jobs: int = 0
    isolated: dict = field(default_factory=dict)
    isolated_error: str = ""


def import_boxes(store: FrameStore, project: Project) -> list[str]:
    """Add the project's packed boxes to the store (config_type box; composition and temperature
    from the frame's info, else from the file name ``<composition_id>_<T>K.extxyz``)."""
    from ase.io import read

    hashes = []
    for cid_name, t_name, path in project.boxes():
        for a in read(path, index=":"):
            cid = a.info.get(keys.COMPOSITION_ID) or cid_name
            temp = a.info.get(keys.TEMPERATURE_K) or t_name
            source = a.info.get(keys.SOURCE, path.relative_to(project.root).as_posix())
            hashes.append(store.add(a, config_type=a.info.get(keys.CONFIG_TYPE, keys.CT_BOX), composition_id=cid,
                                    temperature_K=temp, source=source))
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
        if a.info.get(keys.CONFIG_TYPE) == keys.CT_ACTIVE_LEARNING:  # the learn stage's frames, labelled there
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
                                         derive_seed(seed, ph, f"rattle{st.rattle.stdev_A:g}"))
                hs = [store.add(k) for k in kids]
                new += store.request(hs, lot)
        if st.volume_scan.percent:
            for parent in _evenly(frames, st.volume_scan.frames_per_composition):
                ph = parent.info[keys.FRAME_HASH]
                kids = strategies.volume_scan(parent, st.volume_scan.percent)
                hs = [store.add(k) for k in kids]
                new += store.request(hs, lot)
        if st.contact_scan.pairs:
            for parent in _evenly(frames, st.contact_scan.frames_per_composition):
                kids = strategies.contact_scan(parent, [tuple(p) for p in st.contact_scan.pairs], st.contact_scan.distances_A)
                new += store.request([store.add(k) for k in kids], lot)
        md = st.reference_md
        if md.steps:
            for parent in _evenly(frames, md.frames_per_composition):
                ph = parent.info[keys.FRAME_HASH]
                temp = md.temperature_K or parent.info.get(keys.TEMPERATURE_K) or 298.15
                params = {"steps": md.steps, "keep_every": md.keep_every, "timestep_fs": md.timestep_fs,
                          "temperature_K": float(temp), "friction_per_ps": md.friction_per_ps,
                          "seed": derive_seed(seed, ph, "reference_md")}
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


def plan_labels(store: FrameStore, recipe, labeler, project: Project) -> LabelPlan:
    """Steps 1-4 of the module docstring (everything but running the pending tasks)."""
    settings = recipe.labels
    lot = labeler.level_of_theory
    seed = settings.seed if settings.seed is not None else recipe.seed
    plan = LabelPlan(lot)
    import_boxes(store, project)
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
