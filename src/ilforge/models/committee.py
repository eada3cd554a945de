"""Committees (ensembles) of MLIPs: N models from different seeds and/or bootstrap subsets of the data.

The spread of the members' predictions estimates the model error and flags extrapolation (used for
active learning and as an MD monitor). For member predictions E_k, F_k (k = 1..N):

    E = mean_k E_k,  σ_E = std_k E_k  (eV);   F_i = mean_k F_ik,  σ_F,i = std_k F_ik  (eV/Å, per component)

Members are trained as independent tasks (:mod:`ilforge.models.tasks`) into
``models/<name>/member_<k>/``; ``models/<name>/committee.json`` lists them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact
from ilforge.models.settings import TrainingSettings
from ilforge.models.tasks import TrainTask, run_training_tasks

COMMITTEE_JSON = "committee.json"


def committee_tasks(
    settings: TrainingSettings,
    train_frames: list[Atoms],
    valid_frames: list[Atoms],
    workdir: str | Path,
    isolated_energies: dict[str, float] | None = None,
) -> list[TrainTask]:
    """One task per member: seed ``seed + k`` and, if ``committee_subsample_fraction`` < 1, its own random
    subset of the training frames (drawn without replacement with that seed)."""
    workdir = Path(workdir)
    base = settings.effective_seed()
    tasks = []
    for k in range(settings.committee_size):
        seed = base + k
        member = settings.model_copy(update={"seed": seed, "committee_size": 1})
        frames = list(train_frames)
        if settings.committee_subsample_fraction < 1.0:
            n = max(1, int(round(settings.committee_subsample_fraction * len(frames))))
            idx = np.sort(np.random.default_rng(seed).choice(len(frames), size=n, replace=False))
            frames = [frames[i] for i in idx]
        tasks.append(TrainTask(member.model_dump(), frames, list(valid_frames), str(workdir / f"member_{k}"), dict(isolated_energies or {})))
    return tasks


def train_committee(
    settings: TrainingSettings,
    train_frames: list[Atoms],
    valid_frames: list[Atoms],
    workdir: str | Path,
    isolated_energies: dict[str, float] | None = None,
    max_workers: int = 1,
    progress=None,
) -> list[ModelArtifact]:
    """Train ``settings.committee_size`` members and write ``committee.json``; returns their artifacts."""
    tasks = committee_tasks(settings, train_frames, valid_frames, workdir, isolated_energies)
    artifacts = run_training_tasks(tasks, max_workers=max_workers, progress=progress)
    workdir = Path(workdir)
    (workdir / COMMITTEE_JSON).write_text(json.dumps({
        "members": [a.directory.name for a in artifacts],
        "seeds": [a.info["settings"]["seed"] for a in artifacts],
        "subsample_fraction": settings.committee_subsample_fraction,
    }, indent=2))
    return artifacts


def load_committee(directory: str | Path) -> list[ModelArtifact]:
    """The members of the committee in ``directory`` (or the single model there)."""
    directory = Path(directory)
    cj = directory / COMMITTEE_JSON
    if cj.is_file():
        return [ModelArtifact.load(directory / m) for m in json.loads(cj.read_text())["members"]]
    return [ModelArtifact.load(directory)]


class CommitteeCalculator(Calculator):
    """Mean and spread of several ASE calculators.

    results: ``energy`` (eV) and ``forces`` (eV/Å) are the members' means, ``stress`` too when every
    member gives one; ``energy_std`` (eV), ``forces_std`` (n_atoms, 3) eV/Å (standard deviation over
    members, ddof = 0), ``max_force_std`` (eV/Å: the largest per-atom norm of ``forces_std``) and
    ``energies`` (n_members,) eV.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energy_std", "forces_std", "max_force_std", "energies", "forces_comm"]

    def __init__(self, calculators: list[Calculator], **kwargs):
        if len(calculators) < 1:
            raise IlforgeError("a committee needs at least one model")
        super().__init__(**kwargs)
        self.calculators = list(calculators)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces, stresses = [], [], []
        for calc in self.calculators:
            a = self.atoms.copy()
            a.calc = calc
            energies.append(a.get_potential_energy())
            forces.append(a.get_forces())
            if "stress" in properties and a.pbc.all():
                stresses.append(a.get_stress(voigt=True))
        e, f = np.array(energies), np.array(forces)
        fstd = f.std(axis=0)
        self.results = {
            "energy": float(e.mean()),
            "free_energy": float(e.mean()),
            "forces": f.mean(axis=0),
            "energy_std": float(e.std()),
            "forces_std": fstd,
            "max_force_std": float(np.linalg.norm(fstd, axis=1).max()),
            "energies": e,
            "forces_comm": f,
        }
        if stresses:
            self.results["stress"] = np.mean(stresses, axis=0)


def committee_calculator(artifacts: list[ModelArtifact], device: str = "cpu") -> CommitteeCalculator:
    from ilforge.models.base import get_backend

    return CommitteeCalculator([get_backend(a.backend).calculator(a, device) for a in artifacts])
