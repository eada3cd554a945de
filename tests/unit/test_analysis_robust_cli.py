"""``ilforge analyze`` on species outside the library and on bad inputs: clear one-line errors, exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ilforge.cli import main


def _write(path, species=("AR", "NE"), mols=True, n=60, frames=40, L=14.0):
    from ase import Atoms

    from ilforge.keys import MOL_ID, MOL_SPECIES
    from ilforge.md.trajectory import H5MDWriter

    rng = np.random.default_rng(0)
    atoms = Atoms(["Ar"] * (n // 2) + ["Ne"] * (n - n // 2), positions=rng.random((n, 3)) * L, cell=np.eye(3) * L, pbc=True)
    if mols:
        atoms.arrays[MOL_ID] = np.arange(n)
        atoms.arrays[MOL_SPECIES] = np.array([species[0]] * (n // 2) + [species[1]] * (n - n // 2))
    with H5MDWriter(path, atoms, metadata={"temperature_K": 100.0}) as w:
        for i in range(frames):
            atoms.positions += rng.normal(0, 0.5, (n, 3))
            w.append(i, i * 0.1, atoms.positions, atoms.cell.array)
    return path


@pytest.fixture(scope="module")
def arne(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("arne") / "arne.h5")


def _run(capsys, *args):
    rc = main(["analyze", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_element_rdf_of_species_outside_the_library(arne, tmp_path, capsys):
    out_json = tmp_path / "a.json"
    rc, out, err = _run(capsys, arne, "--properties", "rdf", "--rdf", "Ar-Ne", "--out", out_json)
    assert rc == 0, err
    doc = json.loads(out_json.read_text())
    rdfs = doc["runs"][0]["rdf"]
    assert list(rdfs) == ["Ar-Ne"]  # no default centre-of-mass RDFs without charges
    assert rdfs["Ar-Ne"]["first_peak_r_A"] is None  # random positions: no peak
    assert "no significant peak" in out and "peak at 0." not in out


def test_default_properties_skip_what_needs_charges(arne, tmp_path, capsys):
    rc, out, err = _run(capsys, arne, "--out", tmp_path / "a.json")
    assert rc == 0, err
    run = json.loads((tmp_path / "a.json").read_text())["runs"][0]
    assert set(run["diffusion"]["D_m2_s"]) == {"AR", "NE"}
    assert "conductivity" not in run and "ions" not in run


def test_conductivity_asked_without_charges_says_how_to_give_them(arne, tmp_path, capsys):
    rc, out, err = _run(capsys, arne, "--properties", "conductivity", "--out", tmp_path / "a.json")
    assert rc == 2
    assert "--charges AR=<z>,NE=<z>" in err and "np.str_" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_charges_option_and_explicit_com_rdf(arne, tmp_path, capsys):
    rc, out, err = _run(capsys, arne, "--properties", "rdf", "--com-rdf", "AR-NE", "--charges", "AR=0,NE=0", "--out", tmp_path / "a.json")
    assert rc == 0, err
    assert list(json.loads((tmp_path / "a.json").read_text())["runs"][0]["rdf"]) == ["com:AR-NE"]
    rc, out, err = _run(capsys, arne, "--properties", "conductivity", "--charges", "AR=0,NE=0", "--out", tmp_path / "b.json")
    assert rc == 2 and "neutral" in err


def test_trajectory_without_molecules_diffuses_per_element(tmp_path, capsys):
    path = _write(tmp_path / "atoms.h5", mols=False)
    rc, out, err = _run(capsys, path, "--properties", "diffusion,rdf", "--rdf", "Ar-Ar", "--n-blocks", "2", "--out", tmp_path / "a.json")
    assert rc == 0, err
    assert set(json.loads((tmp_path / "a.json").read_text())["runs"][0]["diffusion"]["D_m2_s"]) == {"Ar", "Ne"}


@pytest.mark.parametrize("args,needle", [
    (["--n-blocks", "1"], "--n-blocks"),
    (["--properties", "density,foo"], "unknown property foo"),
    (["--properties", ""], "--properties"),
    (["--charges", "AR"], "--charges"),
    (["--charges", "AR=x"], "--charges"),
    (["--rdf", "Ar"], "A-B"),
    (["--rdf", "Xe-Ar"], "Xe"),
    (["--com-rdf", "AR-XX"], "--com-rdf"),
    (["--skip-ps", "-1"], "--skip-ps"),
])
def test_bad_options_give_one_line_and_exit_2(arne, tmp_path, capsys, args, needle):
    rc, out, err = _run(capsys, arne, *args, "--out", tmp_path / "a.json")
    assert rc == 2
    assert needle in err and "Traceback" not in err and "pydantic" not in err.lower()
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"", b"\x89HDF\r\n\x1a\n" + bytes(50), bytes(range(256)) * 4, "truncate"])
def test_corrupt_or_truncated_trajectory_names_the_file(arne, tmp_path, capsys, content):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(arne.read_bytes()[:4000] if content == "truncate" else content)
    rc, out, err = _run(capsys, bad, "--out", tmp_path / "a.json")
    assert rc == 2
    assert "bad.h5" in err and "Traceback" not in err


def test_missing_run_names_it(tmp_path, capsys):
    rc, out, err = _run(capsys, tmp_path / "nope", "--out", tmp_path / "a.json")
    assert rc == 2 and "nope" in err


def test_recipe_species_supply_charges_without_making_properties_explicit():
    from types import SimpleNamespace

    from ilforge.analysis.driver import recipe_analysis_settings
    from ilforge.analysis.settings import AnalysisSettings

    recipe = SimpleNamespace(species=[SimpleNamespace(name="AR", charge=0), SimpleNamespace(name="NE", charge=1)],
                             analysis=AnalysisSettings(charges={"NE": 0}))
    s = recipe_analysis_settings(recipe)
    assert s.charges == {"AR": 0.0, "NE": 0.0}  # analysis.charges win over species entries
    assert "properties" not in s.model_fields_set
