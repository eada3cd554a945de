import pytest
import yaml

from ilforge.errors import RecipeError
from ilforge.recipe import load_recipe, recipe_from_dict


def base(**over):
    r = {
        "name": "t",
        "components": {"LiPF6": {"Li": 1, "PF6": 1}, "EMIM_PF6": {"EMIM": 1, "PF6": 1}},
        "box": {"ion_pairs": 20},
        "compositions": [{"id": "a", "fractions": {"LiPF6": 0.5, "EMIM_PF6": 0.5}}],
    }
    r.update(over)
    return r


def test_examples_load(examples):
    r = load_recipe(examples / "li_emim_pf6.yaml")
    comps = r.resolve_compositions()
    assert [c.id for c in comps][:2] == ["x0.00", "x0.10"] and len(comps) == 11
    assert comps[1].counts == {"Li": 2, "PF6": 20, "EMIM": 18}
    assert [c.id for c in r.training_set()] == ["x0.40", "x0.60"]
    assert load_recipe(examples / "emim_bf4.yaml").resolve_compositions()[0].counts == {"EMIM": 4, "BF4": 4}


def test_unknown_species():
    with pytest.raises(RecipeError, match="components.LiX: unknown species 'Xx'"):
        recipe_from_dict(base(components={"LiX": {"Li": 1, "Xx": 1}}))


def test_charge_mismatch_of_a_recipe_species():
    sp = [{"name": "MyCat", "smiles": "CC[NH3+]", "charge": -1}]
    with pytest.raises(RecipeError, match=r"species\[0\].*declared charge -1 but SMILES"):
        recipe_from_dict(base(species=sp))


def test_recipe_species_by_smiles_is_usable():
    sp = [{"name": "MyCat", "smiles": "CCC[NH3+]", "charge": 1}]
    r = recipe_from_dict(base(species=sp, components={"S": {"MyCat": 1, "BF4": 1}}, compositions=[{"fractions": {"S": 1.0}}]))
    assert r.resolve_compositions()[0].counts == {"MyCat": 20, "BF4": 20}


def test_non_neutral_component():
    with pytest.raises(RecipeError, match="components.Bad: formula unit .* net charge \\+1"):
        recipe_from_dict(base(components={"Bad": {"Li": 2, "PF6": 1}}, compositions=[{"fractions": {"Bad": 1.0}}]))


def test_non_neutral_counts():
    with pytest.raises(RecipeError, match=r"compositions\[0\].counts: .* net charge \+1 e"):
        recipe_from_dict(base(compositions=[{"counts": {"Li": 3, "EMIM": 18, "PF6": 20}}]))


def test_fractions_not_summing_to_one():
    with pytest.raises(RecipeError, match=r"compositions\[0\]: molar fractions sum to 0.9"):
        recipe_from_dict(base(compositions=[{"fractions": {"LiPF6": 0.4, "EMIM_PF6": 0.5}}]))


def test_unrealisable_fraction_gives_nearest():
    with pytest.raises(RecipeError, match=r"cannot be realised with 20 formula units.*nearest realisable: \{'LiPF6': 0.35"):
        recipe_from_dict(base(compositions=[{"fractions": {"LiPF6": 0.33, "EMIM_PF6": 0.67}}]))


def test_unrealisable_scan_value():
    with pytest.raises(RecipeError, match="scan value 0.125"):
        recipe_from_dict(base(compositions=[], scan={"component": "LiPF6", "balance": "EMIM_PF6", "values": [0.125]}))


def test_schema_errors_name_the_field():
    with pytest.raises(RecipeError, match="box: .*exactly one of formula_units"):
        recipe_from_dict(base(box={}))
    with pytest.raises(RecipeError, match="temprature: unknown field"):
        recipe_from_dict(base(temprature=300))
    with pytest.raises(RecipeError, match=r"temperatures_K\[0\]: -5 K is not a physical temperature"):
        recipe_from_dict(base(temperatures_K=[-5]))


def test_training_reference_must_exist():
    with pytest.raises(RecipeError, match="training composition 'zz' is not a composition id"):
        recipe_from_dict(base(training_compositions=["zz"]))


def test_atoms_box_size_picks_realisable_units():
    r = recipe_from_dict(base(box={"atoms": 700}, compositions=[{"fractions": {"LiPF6": 0.25, "EMIM_PF6": 0.75}}]))
    n = r.formula_units()
    assert n % 4 == 0
    assert r.resolve_compositions()[0].counts["Li"] == n // 4


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="not found; create one with `ilforge init"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)


def test_init_template_is_a_valid_recipe(tmp_path, monkeypatch):
    from ilforge.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["init", "demo"]) == 0
    r = load_recipe(tmp_path / "demo.yaml")
    assert yaml.safe_load((tmp_path / "demo.yaml").read_text())["name"] == "demo"
    assert len(r.resolve_compositions()) == 6
