"""The four worked cases of the composition planner (DESIGN.md, plan/planner.py)."""

import json

import numpy as np
import pytest

from ilforge.chem.mixture import Composition
from ilforge.chem.species import load_library
from ilforge.plan.linalg import combination_text, nice_integer_combination, rank
from ilforge.plan.planner import plan_compositions

LIB = list(load_library())


def comps(*dicts):
    return [Composition(f"c{i}", d) for i, d in enumerate(dicts)]


def test_one_salt_needs_one_composition():
    targets = comps({"EMIM": 8, "BF4": 8}, {"EMIM": 4, "BF4": 4})
    p = plan_compositions(LIB, targets, targets[:1])
    assert (p.n_species, p.n_constraints, p.required_compositions) == (2, 1, 1)
    assert p.spans_targets and p.undetermined == []
    assert not p.element_e0_fittable and p.element_rank == 1  # a neat 1:1 IL cannot fit per-element E0s


def test_li_emim_pf6_needs_two():
    targets = comps(*({"Li": k, "EMIM": 20 - k, "PF6": 20} for k in range(0, 21, 2)))
    mid = [t for t in targets if t.counts["Li"] == 10]
    p = plan_compositions(LIB, targets, mid)
    assert (p.n_species, p.n_constraints, p.required_compositions) == (3, 1, 2)
    assert not p.spans_targets
    assert p.undetermined == ["E(Li+) - E(EMIM+)"]
    assert len(p.untransferable_targets) == 10
    two = [t for t in targets if t.counts["Li"] in (8, 12)]
    p2 = plan_compositions(LIB, targets, two)
    assert p2.spans_targets and p2.training_rank == 2 and p2.undetermined == []
    assert sorted(p2.recommended_counts, key=lambda c: c["Li"]) == [c.counts for c in two]


def test_two_salts_without_common_ion_need_two():
    targets = comps({"Li": 10, "Cl": 10}, {"Na": 10, "Br": 10}, {"Li": 5, "Cl": 5, "Na": 5, "Br": 5})
    p = plan_compositions(LIB, targets, targets[2:], components={"LiCl": {"Li": 1, "Cl": 1}, "NaBr": {"Na": 1, "Br": 1}})
    assert (p.n_species, p.n_constraints, p.required_compositions) == (4, 2, 2)
    assert not p.spans_targets
    assert len(p.constraints) == 2  # n(Li) = n(Cl) and n(Na) = n(Br): one neutrality per salt
    assert all("electroneutrality" not in c for c in p.constraints)


def test_four_salts_mixed_freely_need_three():
    components = {
        "LiCl": {"Li": 1, "Cl": 1}, "LiBr": {"Li": 1, "Br": 1}, "NaCl": {"Na": 1, "Cl": 1}, "NaBr": {"Na": 1, "Br": 1}
    }
    targets = comps(
        {"Li": 10, "Cl": 10}, {"Li": 10, "Br": 10}, {"Na": 10, "Cl": 10}, {"Na": 10, "Br": 10},
        {"Li": 5, "Na": 5, "Cl": 5, "Br": 5}, {"Li": 6, "Na": 4, "Cl": 3, "Br": 7}, {"Li": 3, "Na": 7, "Cl": 6, "Br": 4},
    )
    p = plan_compositions(LIB, targets, targets[4:7], components=components)
    assert (p.n_species, p.n_constraints, p.required_compositions) == (4, 1, 3)
    assert p.constraints[0].endswith("(overall electroneutrality)")
    assert p.spans_targets and p.training_rank == 3
    # single-ion energies remain free up to a cation/anion shift
    assert len(p.gauge) == 1 and "cation/anion shift" in p.gauge[0]
    assert len(p.recommended) == 3
    # the four salt vectors are dependent: LiCl + NaBr = LiBr + NaCl
    assert rank(np.array([[1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1]])) == 3


def test_recommendation_prefers_mixed_compositions_with_every_ion():
    targets = [Composition(f"x{k / 10:.2f}", {"Li": 2 * k, "EMIM": 20 - 2 * k, "PF6": 20}, x=k / 10) for k in range(11)]
    targets = [Composition(c.id, {s: n for s, n in c.counts.items() if n}, x=c.x) for c in targets]
    p = plan_compositions(LIB, targets, [])
    assert p.recommended == ["x0.40", "x0.60"]


def test_readable_combinations():
    assert nice_integer_combination(np.array([0.5, -0.5, 0.0])) == [1, -1, 0]
    assert combination_text(np.array([1.0, -1.0, 0.0]), ["Li+", "EMIM+", "PF6-"]) == "E(Li+) - E(EMIM+)"
    assert combination_text(np.array([1.0, 1.0, 2.0]), ["a", "b", "c"]) == "E(a) + E(b) + 2 E(c)"


def test_cli_plan_json_done_when(examples, capsys):
    from ilforge.cli import main

    assert main(["plan", str(examples / "li_emim_pf6.yaml"), "--train", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["required_compositions"] == 2 and out["spans_targets"] is False and out["undetermined"]
    for key in ("n_species", "n_constraints", "training_rank", "recommended"):
        assert key in out
    assert main(["plan", str(examples / "li_emim_pf6.yaml"), "--train", "0.4,0.6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spans_targets"] is True and out["training_rank"] == 2


@pytest.mark.parametrize("train", ["0.5", "x0.50"])
def test_cli_accepts_values_and_ids(examples, capsys, train):
    from ilforge.cli import main

    assert main(["plan", str(examples / "li_emim_pf6.yaml"), "--train", train]) == 0
    assert "spans targets: NO" in capsys.readouterr().out
