"""The papers' data strategies: rattles, volume scans, contact scans, short reference-level MD, relaxation steps.

Rattles, volume scans and contact scans make new unlabelled frames from a parent (labelled later like any
other); reference MD and relaxations run the labeler itself and return labelled frames (the
labels of step k are those the trajectory computed at that geometry, nothing is recomputed).
Every derived frame records its parent's hash, composition and temperature; random choices take
a seed (the caller derives it with :func:`ilforge.seeds.derive_seed` from the recipe seed and the
parent hash, so a rerun makes the same frames and adding them again is a no-op). The geometry of
rattles and volume scans is :mod:`ilforge.sample.perturb`'s.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.labels import Labels
from ilforge.reference.base import Labeler
from ilforge.reference.calculator import LabelerCalculator
from ilforge.sample.perturb import (closest_contact, contact_geometry, min_intermolecular_distance, rattled_positions,
                                    scaled_geometry)
from ilforge.units import FS, PS


#: ``source`` of every frame a strategy derives (``label-strategy:<config_type>``); such frames are
#: never selected as "sampled" frames themselves
STRATEGY_SOURCE = "label-strategy"


def _child(parent: Atoms, positions, cell, config_type: str) -> Atoms:
    a = Atoms(parent.numbers, positions=positions, cell=cell, pbc=parent.pbc)
    for k in (keys.MOL_ID, keys.MOL_SPECIES):
        if k in parent.arrays:
            a.arrays[k] = parent.arrays[k].copy()
    for k in (keys.COMPOSITION_ID, keys.TEMPERATURE_K):
        if k in parent.info:
            a.info[k] = parent.info[k]
    if keys.FRAME_HASH in parent.info:
        a.info[keys.PARENT_HASH] = parent.info[keys.FRAME_HASH]
    a.info[keys.CONFIG_TYPE] = config_type
    a.info[keys.SOURCE] = f"{STRATEGY_SOURCE}:{config_type}"
    return a


def rattle(atoms: Atoms, copies: int, stdev_A: float, seed: int) -> list[Atoms]:
    """``copies`` frames with every coordinate displaced by N(0, stdev_A²) (Å), drawn one copy
    after the other from one generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    return [_child(atoms, rattled_positions(atoms.positions, stdev_A, rng), atoms.cell, keys.CT_RATTLE)
            for _ in range(copies)]


def volume_scan(atoms: Atoms, percent: list[float]) -> list[Atoms]:
    """Isotropically scaled copies, one per volume change p (%): V' = V (1 + p/100), molecules
    rigid when ``mol_id`` is present (see :func:`ilforge.sample.perturb.scaled_geometry`)."""
    out = []
    for p in percent:
        pos, cell = scaled_geometry(atoms, p)
        out.append(_child(atoms, pos, cell, keys.CT_VOLUME_SCAN))
    return out


def contact_scan(atoms: Atoms, pairs: list[tuple[str, str]], distances_A: list[float]) -> list[Atoms]:
    """Copies with one intermolecular contact shortened: for each element pair (a, b) the closest
    a–b pair in different molecules (at r₀) is brought to each distance d < r₀ by translating b's
    molecule rigidly along the contact (:func:`ilforge.sample.perturb.contact_geometry`); a copy in
    which another intermolecular pair would come closer than 0.8 d is not made (it would probe that
    pair at a distance nobody chose). Needs ``mol_id``.

    Why: a force field's liquid keeps its contacts at the LJ wall, so a model trained on its frames
    has never seen the reference's repulsion at shorter range and may invent a well there; GFN2-xTB
    models of EMIM-BF4 drew H···F contacts to 1.2 Å (2.0-2.4 Å in CL&P frames), where GFN2-xTB's
    molecular pressure is +2.5 GPa and the model's −0.2 (docs/validation.md)."""
    out = []
    if keys.MOL_ID not in atoms.arrays:
        return out
    for a, b in pairs:
        contact = closest_contact(atoms, a, b)
        if contact is None:
            continue
        i, j, r_ij = contact
        r0 = float(np.linalg.norm(r_ij))
        for d in sorted(distances_A):
            if d >= r0:
                continue
            pos = contact_geometry(atoms, i, j, r_ij, d)
            if min_intermolecular_distance(atoms, pos) < 0.8 * d:
                continue
            child = _child(atoms, pos, atoms.cell, keys.CT_CONTACT_SCAN)
            child.info["contact"] = f"{a}{i}-{b}{j}:{d:g}A"
            out.append(child)
    return out


def _snapshot(atoms: Atoms, parent: Atoms, calc: LabelerCalculator, config_type: str) -> tuple[Atoms, Labels]:
    child = _child(parent, atoms.positions.copy(), atoms.cell.copy(), config_type)
    return child, calc.last_labels


def reference_md(atoms: Atoms, labeler: Labeler, steps: int, keep_every: int, timestep_fs: float,
                 temperature_K: float, friction_per_ps: float, seed: int) -> list[tuple[Atoms, Labels]]:
    """Langevin NVT MD at the reference level from ``atoms`` (velocities drawn from
    Maxwell–Boltzmann at ``temperature_K``; friction γ in 1/ps, time step in fs), keeping the
    frames of steps k, 2k, ... ≤ ``steps`` with their labels. The starting frame itself is not
    returned."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import thermalize_momenta

    rng = np.random.default_rng(seed)
    a = atoms.copy()
    a.calc = calc = LabelerCalculator(labeler)
    thermalize_momenta(a, temperature_K, rng=rng)
    dyn = Langevin(a, timestep_fs * FS, temperature_K=temperature_K, friction=friction_per_ps / PS, fixcm=False,
                   rng=rng)
    out = []
    for step in range(1, steps + 1):
        dyn.run(1)
        if step % keep_every == 0:
            out.append(_snapshot(a, atoms, calc, keys.CT_REFERENCE_MD))
    return out


def relax(atoms: Atoms, labeler: Labeler, steps: int, keep_every: int, fmax_eV_A: float) -> list[tuple[Atoms, Labels]]:
    """Up to ``steps`` BFGS steps (fixed cell) at the reference level, keeping every k-th
    geometry after the start with its labels; stops early when max |F| < ``fmax_eV_A``."""
    from ase.optimize import BFGS

    a = atoms.copy()
    a.calc = calc = LabelerCalculator(labeler)
    opt = BFGS(a, logfile=None, maxstep=0.1)
    out = []
    a.get_forces()
    for step, _ in enumerate(opt.irun(fmax=fmax_eV_A, steps=steps)):
        if step > 0 and step % keep_every == 0:
            out.append(_snapshot(a, atoms, calc, keys.CT_RELAX))
    return out
