"""Committee calculator statistics and the composition-span verdict of the transferability study."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones

from ilforge.models.committee import CommitteeCalculator
from ilforge.recipe import load_recipe
from ilforge.validate.transfer import planner_verdicts, resolve_training_sets


def test_committee_mean_and_std_of_members():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.positions += np.random.default_rng(0).normal(0, 0.05, atoms.positions.shape)
    members = [EMT(), LennardJones(sigma=2.3, epsilon=0.4, rc=6.0)]
    ref = []
    for c in members:
        b = atoms.copy()
        b.calc = c
        ref.append((b.get_potential_energy(), b.get_forces()))
    atoms.calc = CommitteeCalculator(members)
    assert atoms.get_potential_energy() == pytest.approx(np.mean([r[0] for r in ref]))
    np.testing.assert_allclose(atoms.get_forces(), np.mean([r[1] for r in ref], axis=0), atol=1e-12)
    assert atoms.calc.results["energy_std"] == pytest.approx(abs(ref[0][0] - ref[1][0]) / 2)
    assert atoms.calc.results["max_force_std"] == pytest.approx(np.linalg.norm(np.abs(ref[0][1] - ref[1][1]) / 2, axis=1).max())


def test_planner_verdicts_li_emim_pf6(examples):
    recipe = load_recipe(examples / "li_emim_pf6.yaml")
    comps = recipe.resolve_compositions()
    sets = resolve_training_sets(recipe, comps)
    assert sets == [["x0.50"], ["x0.00", "x0.10"], ["x0.00", "x0.10", "x0.20"], ["x0.00", "x1.00"], ["x0.40", "x0.60"]]
    v = planner_verdicts(recipe, sets)
    assert v["x0.50"]["required"] == 2  # N = 3 species, M = 1 (electroneutrality)
    assert not v["x0.50"]["spans"] and v["x0.50"]["rank"] == 1
    assert "undetermined" in v["x0.50"]["verdict"]
    assert all(v[k]["spans"] for k in v if k != "x0.50")


def test_training_workers_share_the_cores():
    from ilforge.engine.local import threads_per_worker

    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(2, cores=16) == 8
    assert threads_per_worker(5, cores=2) == 1  # never below one thread
    assert threads_per_worker(1, cores=4) == 4
