import pytest

from ilforge.chem.species import load_library, make_species
from ilforge.errors import SpeciesError

REQUIRED = [
    "Li", "Na", "K", "EMIM", "BMIM", "HMIM", "OMIM", "F-OMIM", "PYR13", "PYR14", "EA", "choline", "P66614",
    "N1114", "BF4", "PF6", "TFSI", "FSI", "OTf", "DCA", "OAc", "NO3", "Cl", "Br", "SCN", "C4F9CO2", "water",
]


def test_library_has_required_species_with_consistent_charges():
    lib = load_library()
    assert len(lib) >= 30
    for name in REQUIRED:
        sp = lib.get(name)
        assert sp.kind == {1: "cation", -1: "anion", 0: "neutral"}[(sp.charge > 0) - (sp.charge < 0)]


def test_aliases_and_case_insensitive_lookup():
    lib = load_library()
    assert lib.get("ntf2").name == "TFSI"
    assert lib.get("C2mim").name == "EMIM"
    assert lib.get("li+").name == "Li"


def test_known_formulas_and_masses():
    lib = load_library()
    emim = lib.get("EMIM")
    assert sorted(emim.symbols).count("H") == 11 and emim.n_atoms == 19
    assert lib.get("PF6").mass_amu == pytest.approx(144.96, abs=0.01)
    fomim = lib.get("F-OMIM")
    assert fomim.symbols.count("F") == 13 and fomim.symbols.count("C") == 12
    assert lib.get("C4F9CO2").symbols.count("F") == 9


def test_charge_mismatch_is_refused():
    with pytest.raises(SpeciesError, match="declared charge -1 but SMILES"):
        make_species("bad", "CCn1cc[n+](C)c1", -1)


def test_bad_smiles_and_wrong_kind_are_refused():
    with pytest.raises(SpeciesError, match="does not parse"):
        make_species("bad", "C1CC(", 0)
    with pytest.raises(SpeciesError, match="kind 'anion' does not match"):
        make_species("bad", "[Li+]", 1, "anion")


def test_unknown_species_names_the_fix():
    with pytest.raises(SpeciesError, match="unknown species 'EMIN'.*smiles"):
        load_library().get("EMIN")
