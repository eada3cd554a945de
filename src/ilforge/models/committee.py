"""Committees (ensembles) of MLIPs, and the calculator recipe that MD uses.

N models of one backend, trained from different seeds and/or bootstrap subsets of the data
(:func:`ilforge.models.training.train_committee`); the spread of their predictions estimates the
model error and flags extrapolation (MD monitor, validation, active learning). For member
predictions E_k (eV), F_k (n, 3) eV/Å and σ_k (6,) eV/Å³, k = 1..N, :func:`committee_statistics`
is the one definition used everywhere (calculator, batched prediction, validation):

    E = mean_k E_k,   σ_E = std_k E_k  (eV, ddof = 0)
    F_i = mean_k F_ik,  σ_F,i = std_k F_ik  (eV/Å, per Cartesian component, ddof = 0)
    max_force_std = max_i |σ_F,i|  (eV/Å, the largest per-atom norm of σ_F)
    σ = mean_k σ_k  (when every member gives a stress)

``models/<name>/committee.json`` lists the members (``member_<k>/``); a model directory without it
is a committee of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact
from ilforge.models.registry import get_backend

COMMITTEE_JSON = "committee.json"


def committee_statistics(energies, forces, stresses=None) -> dict:
    """Mean and spread of member predictions (see the module docstring).

    ``energies`` (n_members,) eV; ``forces`` (n_members, n_atoms, 3) eV/Å; ``stresses`` a list of
    (6,) eV/Å³ or None per member. Returns ``energy``, ``forces``, ``stress`` (None unless every
    member gave one), ``energy_std``, ``forces_std`` (n_atoms, 3), ``max_force_std`` and ``energies``.
    """
    e = np.asarray(energies, dtype=float).reshape(-1)
    f = np.asarray(forces, dtype=float).reshape(len(e), -1, 3)
    fstd = f.std(axis=0)
    stress = None
    if stresses is not None and len(stresses) == len(e) and all(s is not None for s in stresses):
        stress = np.mean([np.asarray(s, dtype=float) for s in stresses], axis=0)
    return {
        "energy": float(e.mean()),
        "forces": f.mean(axis=0),
        "stress": stress,
        keys.ENERGY_STD: float(e.std()),
        keys.FORCES_STD: fstd,
        keys.MAX_FORCE_STD: float(np.linalg.norm(fstd, axis=1).max()) if len(fstd) else 0.0,
        keys.ENERGIES: e,
    }


class CommitteeCalculator(Calculator):
    """Mean and spread of several ASE calculators (:func:`committee_statistics`).

    results: ``energy`` (eV), ``free_energy``, ``forces`` (eV/Å), ``stress`` (eV/Å³, when asked for a
    periodic cell), ``energy_std`` (eV), ``forces_std`` (n_atoms, 3) eV/Å, ``max_force_std`` (eV/Å)
    and ``energies`` (n_members,) eV.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", keys.ENERGY_STD, keys.FORCES_STD,
                              keys.MAX_FORCE_STD, keys.ENERGIES]

    def __init__(self, calculators: list[Calculator], **kwargs):
        if len(calculators) < 1:
            raise IlforgeError("a committee needs at least one model")
        super().__init__(**kwargs)
        self.calculators = list(calculators)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces, stresses = [], [], []
        want_stress = "stress" in properties and self.atoms.pbc.all()
        for calc in self.calculators:
            a = self.atoms.copy()
            a.calc = calc
            energies.append(a.get_potential_energy())
            forces.append(a.get_forces())
            stresses.append(a.get_stress(voigt=True) if want_stress else None)
        stats = committee_statistics(energies, forces, stresses if want_stress else None)
        stress = stats.pop("stress")
        self.results = {**stats, "free_energy": stats["energy"]}
        if stress is not None:
            self.results["stress"] = stress


@dataclass(frozen=True)
class ModelCalculatorFactory:
    """A picklable recipe for the MD calculator of a model or a committee, built by calling it in
    the process that runs MD.

    ``model_dirs``: model directories (``models/<name>/`` or its members), or paths of the backend's
    own model files; one entry gives the backend's calculator, several a :class:`CommitteeCalculator`.
    ``dtype``: ``float32`` or ``float64``.
    """

    backend: str
    model_dirs: tuple[str, ...]
    device: str = "cpu"
    dtype: str = "float64"

    def to_dict(self) -> dict:
        """JSON-able form (an MD task's settings file keeps it): ``{"kind": "model", ...}``."""
        return {"kind": "model", "backend": self.backend, "model_dirs": list(self.model_dirs), "device": self.device, "dtype": self.dtype}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelCalculatorFactory":
        if d.get("kind", "model") != "model":
            raise IlforgeError(f"not a model calculator: kind {d.get('kind')!r}")
        return cls(str(d["backend"]), tuple(str(p) for p in d["model_dirs"]), str(d.get("device", "cpu")), str(d.get("dtype", "float64")))

    def __call__(self) -> Calculator:
        backend = get_backend(self.backend)
        calcs = [backend.load_calculator(_model(p), self.device, self.dtype) for p in self.model_dirs]
        if not calcs:
            raise IlforgeError("a model calculator needs at least one model")
        return calcs[0] if len(calcs) == 1 else CommitteeCalculator(calcs)


def _model(entry: str) -> ModelArtifact | Path:
    path = Path(entry)
    if path.is_dir():
        return ModelArtifact.load(path)
    if not path.is_file():
        raise IlforgeError(f"model {path} not found: give a trained model directory (`ilforge train`) or a model file")
    return path


def per_frame_statistics(per_member: list[list[dict]]) -> list[dict]:
    """:func:`committee_statistics` of every frame from the members' predictions
    ``[member][frame] -> {energy, forces, stress}``."""
    return [committee_statistics([p[i]["energy"] for p in per_member], [p[i]["forces"] for p in per_member],
                                 [p[i]["stress"] for p in per_member])
            for i in range(len(per_member[0]))]


class Committee:
    """The members of ``models/<name>/`` (one model or several); owns the committee mean and spread."""

    def __init__(self, directory: str | Path, members: list[ModelArtifact]):
        if not members:
            raise IlforgeError(f"{directory}: a committee needs at least one model")
        backends = sorted({m.backend for m in members})
        if len(backends) > 1:
            raise IlforgeError(f"{directory}: committee members of different backends {backends}")
        self.directory = Path(directory)
        self.members = list(members)

    @classmethod
    def load(cls, model_dir: str | Path) -> "Committee":
        """The committee in ``model_dir`` (``committee.json``), or the single model there."""
        model_dir = Path(model_dir)
        cj = model_dir / COMMITTEE_JSON
        if cj.is_file():
            return cls(model_dir, [ModelArtifact.load(model_dir / m) for m in json.loads(cj.read_text())["members"]])
        return cls(model_dir, [ModelArtifact.load(model_dir)])

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def backend(self) -> str:
        return self.members[0].backend

    @property
    def elements(self) -> list[str]:
        """Elements every member has parameters for."""
        common = set(self.members[0].elements).intersection(*(m.elements for m in self.members[1:]))
        return [e for e in self.members[0].elements if e in common]

    @property
    def level_of_theory(self) -> str | None:
        return self.members[0].level_of_theory

    @property
    def device(self) -> str:
        """The device the members were trained on (their settings)."""
        return str(self.members[0].info.get("settings", {}).get("device", "cpu"))

    def __len__(self) -> int:
        return len(self.members)

    def member_predictions(self, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[list[dict]]:
        """Each member's batched predictions: ``[member][frame] -> {energy, forces, stress}``."""
        backend = get_backend(self.backend)
        return [backend.predict(m, frames, device=device, batch_size=batch_size) for m in self.members]

    def predict(self, frames: list[Atoms], device: str = "cpu", batch_size: int = 16) -> list[dict]:
        """Per frame :func:`committee_statistics` of the members' predictions; a single model with a
        native ensemble (its predictions already carry ``forces_std``, e.g. apax's shallow ensemble)
        keeps its own statistics."""
        per_member = self.member_predictions(frames, device, batch_size)
        if len(per_member) == 1 and per_member[0] and all(keys.FORCES_STD in p for p in per_member[0]):
            return per_member[0]
        return per_frame_statistics(per_member)

    def calculator_factory(self, device: str = "cpu", dtype: str = "float64") -> ModelCalculatorFactory:
        """The MD calculator of this committee (see :class:`ModelCalculatorFactory`)."""
        return ModelCalculatorFactory(self.backend, tuple(str(m.directory) for m in self.members), device, dtype)
