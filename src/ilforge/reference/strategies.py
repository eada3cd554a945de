"""The papers' data strategies: rattles, volume scans, short reference-level MD, relaxation steps.

Rattles and volume scans make new unlabelled frames from a parent (labelled later like any
other); reference MD and relaxations run the labeler itself and return labelled frames (the
labels of step k are those the trajectory computed at that geometry, nothing is recomputed).
Every derived frame records its parent's hash, composition and temperature; random choices take
a seed (:func:`derived_seed` mixes the recipe seed with the parent hash, so a rerun makes the
same frames and adding them again is a no-op).
"""

from __future__ import annotations

import hashlib

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ilforge import keys
from ilforge.reference.base import Labeler, Labels
from ilforge.units import FS


#: ``source`` of every frame a strategy derives (``label-strategy:<config_type>``); such frames are
#: never selected as "sampled" frames themselves
STRATEGY_SOURCE = "label-strategy"


def derived_seed(seed: int, parent_hash: str, tag: str) -> int:
    """A 63-bit seed from the recipe seed, the parent frame's hash and a tag naming the strategy."""
    digest = hashlib.sha256(f"{seed}:{parent_hash}:{tag}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


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
    """``copies`` frames with every coordinate displaced by N(0, stdev_A²) (Å)."""
    rng = np.random.default_rng(seed)
    return [
        _child(atoms, atoms.positions + rng.normal(0.0, stdev_A, atoms.positions.shape), atoms.cell, keys.CT_RATTLE)
        for _ in range(copies)
    ]


def volume_scan(atoms: Atoms, percent: list[float]) -> list[Atoms]:
    """Isotropically scaled copies: V' = V (1 + p/100), cell × s with s = (1 + p/100)^(1/3).

    With ``mol_id`` the molecules move rigidly: each centre of mass r_c → s r_c, internal
    geometry unchanged (bonds are not stretched); without it every atom is scaled."""
    out = []
    for p in percent:
        if p <= -100:
            raise ValueError(f"volume change {p} % would make the volume non-positive")
        s = (1.0 + p / 100.0) ** (1.0 / 3.0)
        pos = atoms.positions.copy()
        if keys.MOL_ID in atoms.arrays:
            masses = atoms.get_masses()
            mol = np.asarray(atoms.arrays[keys.MOL_ID])
            for m in np.unique(mol):
                idx = mol == m
                com = masses[idx] @ pos[idx] / masses[idx].sum()
                pos[idx] += (s - 1.0) * com
        else:
            pos *= s
        out.append(_child(atoms, pos, atoms.cell[:] * s, keys.CT_VOLUME_SCAN))
    return out


class LabelerCalculator(Calculator):
    """An ASE calculator that calls a :class:`Labeler` (used to run MD/relaxations at the reference level)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, labeler: Labeler):
        super().__init__()
        self.labeler = labeler
        self.last_labels: Labels | None = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        lab = self.labeler.label(self.atoms)
        self.last_labels = lab
        self.results = {"energy": lab.energy, "free_energy": lab.energy, "forces": lab.forces}
        if lab.stress is not None:
            self.results["stress"] = lab.stress


def _snapshot(atoms: Atoms, parent: Atoms, calc: LabelerCalculator, config_type: str) -> tuple[Atoms, Labels]:
    child = _child(parent, atoms.positions.copy(), atoms.cell.copy(), config_type)
    return child, calc.last_labels


def reference_md(atoms: Atoms, labeler: Labeler, steps: int, keep_every: int, timestep_fs: float,
                 temperature_K: float, friction_per_fs: float, seed: int) -> list[tuple[Atoms, Labels]]:
    """Langevin NVT MD at the reference level from ``atoms`` (velocities drawn from
    Maxwell–Boltzmann at ``temperature_K``), keeping the frames of steps k, 2k, ... ≤ ``steps``
    with their labels. The starting frame itself is not returned."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import thermalize_momenta

    rng = np.random.default_rng(seed)
    a = atoms.copy()
    a.calc = calc = LabelerCalculator(labeler)
    thermalize_momenta(a, temperature_K, rng=rng)
    dyn = Langevin(a, timestep_fs * FS, temperature_K=temperature_K, friction=friction_per_fs / FS, fixcm=False,
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
