import pytest

from ilforge.chem.mixture import counts_from_fractions, formula_units_for_atoms, nearest_realisable, net_charge
from ilforge.errors import RecipeError

COMPS = {"LiPF6": {"Li": 1, "PF6": 1}, "EMIM_PF6": {"EMIM": 1, "PF6": 1}, "Li2SO4": {"Li": 2, "SO4": 1}}


def test_counts_from_fractions_sums_species_over_components():
    counts = counts_from_fractions({"LiPF6": 0.4, "EMIM_PF6": 0.6}, COMPS, 20)
    assert counts == {"Li": 8, "PF6": 20, "EMIM": 12}


def test_stoichiometry_two_to_one():
    counts = counts_from_fractions({"Li2SO4": 1.0}, COMPS, 5)
    assert counts == {"Li": 10, "SO4": 5}


def test_fractions_must_sum_to_one():
    with pytest.raises(RecipeError, match="sum to 0.9"):
        counts_from_fractions({"LiPF6": 0.4, "EMIM_PF6": 0.5}, COMPS, 20)


def test_unrealisable_fraction_names_nearest():
    with pytest.raises(RecipeError, match=r"nearest realisable: \{'LiPF6': 0.35, 'EMIM_PF6': 0.65\}"):
        counts_from_fractions({"LiPF6": 0.33, "EMIM_PF6": 0.67}, COMPS, 20)


def test_nearest_realisable_keeps_the_sum():
    near = nearest_realisable({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 10)
    assert sum(near.values()) == pytest.approx(1.0)
    assert sorted(near.values()) == [0.3, 0.3, 0.4]


def test_net_charge():
    assert net_charge({"Li": 2, "EMIM": 18, "PF6": 20}, {"Li": 1, "EMIM": 1, "PF6": -1}) == 0
    assert net_charge({"Li": 3, "PF6": 2}, {"Li": 1, "PF6": -1}) == 1


def test_formula_units_for_atoms_realises_every_fraction():
    atoms = {"Li": 1, "PF6": 7, "EMIM": 19, "SO4": 5}
    n = formula_units_for_atoms(500, [{"LiPF6": 0.5, "EMIM_PF6": 0.5}, {"LiPF6": 0.25, "EMIM_PF6": 0.75}], COMPS, atoms)
    assert n % 4 == 0
    assert abs(n * (0.5 * 8 + 0.5 * 26) - 500) < 4 * 26
