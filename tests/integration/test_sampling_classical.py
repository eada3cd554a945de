"""``ilforge sample`` end to end on a tiny CL&P EMIM-BF4 box: frames, metadata, molecules intact."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openmm")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from _ff_helpers import grid_box  # noqa: E402

from ilforge import keys  # noqa: E402
from ilforge.recipe import recipe_from_dict  # noqa: E402


def _recipe(clandp: Path, ensemble: str):
    return recipe_from_dict({
        "name": "tiny",
        "seed": 3,
        "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": 4},
        "temperatures_K": [350.0],
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", "path": str(clandp), "charge_scale": 0.8, "cutoff_A": 12.0},
        "sampling": {
            "timestep_fs": 1.0, "equilibration_ps": 1.0, "production_ps": 2.0, "interval_ps": 0.5,
            "report_interval_ps": 0.25, "ensemble": ensemble,
            "platform": "CPU",
        },
    })


def _write_box(workdir: Path, recipe):
    from ase.io import write

    from ilforge.forcefields.assign import templates_for

    t = templates_for(["EMIM", "BF4"], recipe.library(), recipe.forcefield)
    box = grid_box(t, ["EMIM", "BF4"] * 4, cell_A=16.0, spacing_A=8.0, seed=1)
    box.positions += 100.0  # wrapped/shifted input must come out whole and inside the cell
    box.info[keys.TEMPERATURE_K] = 350.0
    (workdir / "boxes").mkdir(parents=True)
    write(workdir / "boxes" / "neat_350K.extxyz", box)
    return t


def test_sample_nvt_frames_metadata_and_intact_molecules(clandp, tmp_path, monkeypatch):
    from ase.io import read

    from ilforge.cli import main
    from ilforge.sample.runner import molecules_intact

    recipe = _recipe(clandp, "nvt")
    t = _write_box(tmp_path, recipe)
    path = tmp_path / "recipe.yaml"
    import yaml

    path.write_text(yaml.safe_dump(json.loads(recipe.model_dump_json())))
    assert main(["sample", str(path), "--workdir", str(tmp_path)]) == 0
    frames = read(tmp_path / "sampled" / "neat_350K.extxyz", ":")
    ctypes = [f.info[keys.CONFIG_TYPE] for f in frames]
    assert ctypes == ["classical_md"] * 4  # perturbed copies come from labels.strategies, not the sampler
    md = [f for f in frames if f.info[keys.CONFIG_TYPE] == "classical_md"]
    for f in md:
        assert f.info[keys.COMPOSITION_ID] == "neat" and f.info[keys.TEMPERATURE_K] == 350.0
        assert f.info[keys.FORCEFIELD].startswith("CL&P") and f.info[keys.count_key("EMIM")] == 4
        assert molecules_intact(f, t, tolerance_A=0.4)
        frac = f.get_scaled_positions(wrap=False)
        mol = f.arrays[keys.MOL_ID]
        for m in np.unique(mol):  # molecule centroids inside the cell
            c = frac[mol == m].mean(axis=0)
            assert np.all(c >= -1e-9) and np.all(c < 1 + 1e-9)
        assert list(f.arrays[keys.MOL_SPECIES][:19]) == ["EMIM"] * 19
    v_md = md[0].get_volume()
    assert all(np.isclose(f.get_volume(), v_md) for f in md)  # NVT production: the equilibrated volume
    meta = json.loads((tmp_path / "sampled" / "neat_350K.json").read_text())
    assert meta["cutoff_A"] < 8.0 and meta["n_frames"] == 4 and meta["ns_per_day"] > 0
    # resumable: the second call skips the finished run
    assert main(["sample", str(path), "--workdir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "sampled" / "neat_350K.json").read_text())["wall_s"] == meta["wall_s"]


def test_sample_npt_moves_the_box_with_a_stable_seed(clandp, tmp_path):
    """NPT production changes the volume; the run's seed derives from the recipe seed and the run.
    (OpenMM's multithreaded CPU platform sums forces in varying order, so trajectories agree only
    statistically between runs.)"""
    from ilforge.project import Project
    from ilforge.sample.runner import sample_recipe
    from ilforge.seeds import derive_seed

    recipe = _recipe(clandp, "npt")
    _write_box(tmp_path, recipe)
    sample_recipe(recipe, Project(tmp_path))
    meta = json.loads((tmp_path / "sampled" / "neat_350K.json").read_text())
    assert meta["seed"] == derive_seed(3, "sample", "neat", 350.0)
    prod = [d for t, d in zip(meta["times_ps"], meta["densities_g_cm3"]) if t > meta["production_start_ps"]]
    assert len(set(np.round(prod, 6))) > 2  # the barostat keeps moving the box in production
    window = [d for t, d in zip(meta["times_ps"], meta["densities_g_cm3"]) if t >= meta["production_start_ps"] - 1e-9]
    assert meta["mean_density_g_cm3"] == pytest.approx(np.mean(window), rel=1e-12)


def test_generic_forcefield_nvt_keeps_molecules_intact(tmp_path):
    """Li+/EMIM+/PF6- with the generic force field (UFF + GFN2-xTB): a short NVT run keeps every
    molecule intact and the frames carry the generic force field's name."""
    pytest.importorskip("tblite")
    from ase.io import write

    from ilforge.forcefields.assign import templates_for
    from ilforge.project import Project
    from ilforge.sample.runner import molecules_intact, sample_recipe

    recipe = recipe_from_dict({
        "name": "gen",
        "seed": 5,
        "components": {"LiPF6": {"Li": 1, "PF6": 1}, "EMIM_PF6": {"EMIM": 1, "PF6": 1}},
        "box": {"ion_pairs": 4},
        "temperatures_K": [400.0],
        "compositions": [{"id": "x0.50", "fractions": {"LiPF6": 0.5, "EMIM_PF6": 0.5}}],
        "forcefield": {"type": "generic", "charge_scale": 0.8},
        "sampling": {"timestep_fs": 0.5, "equilibration_ps": 0.5, "production_ps": 1.0, "interval_ps": 0.5,
                     "report_interval_ps": 0.25, "ensemble": "nvt", "platform": "CPU"},
    })
    t = templates_for(["Li", "EMIM", "PF6"], recipe.library(), recipe.forcefield, cache_dir=tmp_path / "cache" / "generic_ff")
    box = grid_box(t, ["Li", "PF6", "EMIM", "PF6"] * 2, cell_A=16.0, spacing_A=8.0, seed=2)
    box.info[keys.TEMPERATURE_K] = 400.0
    (tmp_path / "boxes").mkdir()
    write(tmp_path / "boxes" / "x0.50_400K.extxyz", box)
    (s,) = sample_recipe(recipe, Project(tmp_path))
    from ase.io import read

    frames = read(s.path, ":")
    assert len(frames) == 2
    for f in frames:
        assert f.info[keys.FORCEFIELD].startswith("generic-UFF-GFN2-xTB")
        assert molecules_intact(f, t, tolerance_A=0.4)
        assert sorted(set(f.arrays[keys.MOL_SPECIES])) == ["EMIM", "Li", "PF6"]
