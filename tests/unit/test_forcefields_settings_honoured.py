"""Every non-bonded setting of the recipe's ``forcefield`` section is honoured by the classical labeler
and by the sampler alike (issue 12): for each setting, two values give measurably different energies,
and the labeler built from a recipe with value X, and the System the sampler builds from it, both
give the energy of a direct ``build_system`` with X (spelled out here, not taken from the settings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openmm")

from ase.io import read, write  # noqa: E402
from _ff_helpers import openmm_energy_forces  # noqa: E402

from ilforge import keys, units  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.forcefields.openmm_system import build_system  # noqa: E402
from ilforge.project import Project  # noqa: E402
from ilforge.recipe import recipe_from_dict  # noqa: E402
from ilforge.reference.classical import ClassicalLabeler  # noqa: E402
from ilforge.sample import runner  # noqa: E402
from ilforge.sample.md import MDRunResult  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "emim_bf4_4ip.extxyz"
#: the defaults of ForceFieldSettings (except cutoff and charge scale, chosen for the 10 Å box)
BASE = {"charge_scale": 0.8, "cutoff_A": 4.5, "ewald_tolerance": 1e-5, "lj_tail": True, "lj_switch_width_A": 1.0}
CASES = [("cutoff_A", 4.0), ("ewald_tolerance", 5e-4), ("lj_tail", False), ("charge_scale", 0.6),
         ("lj_switch_width_A", 0.5)]


@pytest.fixture(scope="module")
def box_and_templates():
    from ilforge.forcefields.shipped import clandp_dir

    lib = load_library()
    return read(DATA, 0), {s: clandp_template(lib.get(s), clandp_dir()) for s in ("EMIM", "BF4")}


def _recipe(**ff):
    return recipe_from_dict({
        "name": "settings", "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 4},
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", **ff},
        "sampling": {"equilibration_ps": 0, "production_ps": 2, "interval_ps": 1},
    })


def _direct_energy_eV(box, templates, **settings) -> float:
    system, _ = build_system(box, templates, **settings)
    return openmm_energy_forces(system, box)[0] * units.KJ_MOL


def _sampler_energy_eV(tmp_path: Path, recipe, monkeypatch) -> float:
    """Energy (eV) of the System that ``ilforge sample`` builds for the data box (its MD replaced by a stub)."""
    project = Project(tmp_path)
    comp = recipe.resolve_compositions(recipe.library())[0]
    T = recipe.temperatures_K[0]
    project.box(comp.id, T).parent.mkdir(parents=True, exist_ok=True)
    write(project.box(comp.id, T), read(DATA, 0), format="extxyz")
    seen = {}

    def fake_md(box, system, info, *args, **kwargs):
        seen["e"] = openmm_energy_forces(system, box)[0] * units.KJ_MOL
        return MDRunResult(frames=[box.copy()], times_ps=[1.0], densities_g_cm3=[1.2], potential_energies_eV=[0.0])

    monkeypatch.setattr(runner, "run_classical_md", fake_md)
    (summary,) = runner.sample_recipe(recipe, project)
    assert summary.n_frames == 1
    return seen["e"]


@pytest.mark.parametrize("key,other", CASES, ids=[c[0] for c in CASES])
def test_setting_is_honoured_by_labeler_and_sampler(key, other, box_and_templates, tmp_path, monkeypatch):
    box, t = box_and_templates
    levels = set()
    energies = []
    for i, value in enumerate((BASE[key], other)):
        settings = {**BASE, key: value}
        e_direct = _direct_energy_eV(box, t, **settings)
        recipe = _recipe(**settings)
        lab = ClassicalLabeler.from_recipe(recipe, compute_stress=False)
        levels.add(lab.level_of_theory)
        assert lab.label(box).energy == pytest.approx(e_direct, rel=1e-9, abs=1e-9), (key, value, "labeler")
        e_sample = _sampler_energy_eV(tmp_path / str(i), recipe, monkeypatch)
        assert e_sample == pytest.approx(e_direct, rel=1e-9, abs=1e-9), (key, value, "sampler")
        energies.append(e_direct)
    assert abs(energies[0] - energies[1]) > 1e-4, f"{key}: the two values should give different energies"
    assert len(levels) == 2, f"{key} is not in the level of theory: {levels}"


def test_sampled_frames_record_the_cutoff_used(box_and_templates, tmp_path, monkeypatch):
    """A box too small for the recipe's cutoff is sampled at a shorter one; the frames say which."""
    recipe = _recipe(**{**BASE, "cutoff_A": 12.0})
    _sampler_energy_eV(tmp_path, recipe, monkeypatch)
    frames = read(Project(tmp_path).sampled("neat", 298.15), index=":")
    assert frames[0].info[keys.FORCEFIELD] == "CL&P(q*0.8);cutoff=4.54A;switch=1A;ewald=1e-05;tail=on"


def test_switch_width_must_be_inside_the_cutoff():
    with pytest.raises(Exception, match="lj_switch_width_A"):
        _recipe(cutoff_A=4.0, lj_switch_width_A=4.0)
    assert np.isclose(_recipe().forcefield.lj_switch_width_A, 1.0)
