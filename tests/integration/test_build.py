"""Packed boxes of both examples: neutral, at the target density, molecules apart, whole, deterministic."""

import numpy as np
import pytest
from ase.io import read

from ilforge import keys
from ilforge.project import Project
from ilforge.build.box import MIN_INTERMOLECULAR_A, build_boxes, min_intermolecular_distance
from ilforge.chem.species import load_library
from ilforge.recipe import load_recipe
from ilforge.units import density_g_cm3

LIB = {sp.name: sp for sp in load_library()}


def check_box(atoms):
    species = atoms.arrays[keys.MOL_SPECIES]
    mol = atoms.arrays[keys.MOL_ID]
    charge = sum(LIB[species[np.flatnonzero(mol == m)[0]]].charge for m in np.unique(mol))
    assert charge == 0
    rho = density_g_cm3(atoms.get_masses().sum(), atoms.get_volume())
    assert rho == pytest.approx(atoms.info[keys.DENSITY_G_CM3], rel=0.02)
    assert min_intermolecular_distance(atoms) >= MIN_INTERMOLECULAR_A
    # molecules whole: every bond of the species graph is short without minimum image
    for m in np.unique(mol)[:10]:
        idx = np.flatnonzero(mol == m)
        sp = LIB[species[idx[0]]]
        for i, j in sp.bonds:
            assert np.linalg.norm(atoms.positions[idx[i]] - atoms.positions[idx[j]]) < 2.0


def test_build_emim_bf4(examples, tmp_path):
    recipe = load_recipe(examples / "emim_bf4.yaml")
    [path] = build_boxes(recipe, Project(tmp_path))
    atoms = read(path)
    check_box(atoms)
    assert atoms.info[keys.DENSITY_G_CM3] == pytest.approx(1.280, abs=1e-3)  # experiment at 298.15 K
    assert atoms.info["count_EMIM"] == 4 and len(atoms) == 96
    assert "experiment" in atoms.info[keys.DENSITY_SOURCE]
    # deterministic for a seed, and up to date boxes are kept
    mtime = path.stat().st_mtime_ns
    assert build_boxes(recipe, Project(tmp_path)) == [path] and path.stat().st_mtime_ns == mtime
    again = build_boxes(recipe, Project(tmp_path / "again"))[0]
    np.testing.assert_allclose(read(again).positions, atoms.positions)


def test_build_li_emim_pf6(examples, tmp_path):
    recipe = load_recipe(examples / "li_emim_pf6.yaml")
    paths = build_boxes(recipe, Project(tmp_path))
    assert len(paths) == 11
    for p in paths:
        check_box(read(p))


def test_cli_build(examples, tmp_path, capsys):
    from ilforge.cli import main

    assert main(["build", str(examples / "emim_bf4.yaml"), "--workdir", str(tmp_path)]) == 0
    assert (tmp_path / "boxes" / "neat_298.15K.extxyz").exists()
    assert (tmp_path / "recipe.yaml").exists()
    assert "1.2800 g/cm3 (target 1.2800" in capsys.readouterr().out


def test_pf6_geometry_is_octahedral():
    from ilforge.chem.geometry import species_geometry

    g = species_geometry(LIB["PF6"])
    p = g.get_chemical_symbols().index("P")
    v = np.delete(g.positions, p, axis=0) - g.positions[p]
    cos = (v @ v.T) / np.outer(np.linalg.norm(v, axis=1), np.linalg.norm(v, axis=1))
    angles = np.degrees(np.arccos(np.clip(cos[np.triu_indices(6, 1)], -1, 1)))
    assert np.allclose(np.sort(angles)[:12], 90, atol=1) and np.allclose(np.sort(angles)[12:], 180, atol=1)


def _neat(density=None, ion_pairs=4):
    from ilforge.recipe import recipe_from_dict

    box = {"ion_pairs": ion_pairs, **({"density_g_cm3": density} if density else {})}
    return recipe_from_dict(
        {"name": "t", "components": {"S": {"EMIM": 1, "BF4": 1}}, "box": box, "compositions": [{"id": "n", "fractions": {"S": 1.0}}]}
    )


def test_unphysical_density_is_refused_before_packing():
    from ilforge.build.box import build_box
    from ilforge.errors import BuildError

    r = _neat(density=4.0)
    with pytest.raises(BuildError, match="van der Waals volume.*lower box.density_g_cm3"):
        build_box(r, r.resolve_compositions()[0], 298.15)


def test_packmol_failures_are_retried_and_reported(monkeypatch):
    import ilforge.build.box as box
    from ilforge.errors import BuildError

    calls = []

    def failing_pack(mols, length, tol, seed, nloop, move_bad_random):
        calls.append((seed, nloop, move_bad_random))
        raise BuildError("packmol ended without a perfect packing")

    monkeypatch.setattr(box, "pack", failing_pack)
    r = _neat()
    with pytest.raises(BuildError, match=r"(?s)after 3 attempts:\n  attempt 1: packmol ended.*lower box.density_g_cm3"):
        box.build_box(r, r.resolve_compositions()[0], 298.15)
    assert len(calls) == box.MAX_ATTEMPTS
    assert len({c[0] for c in calls}) == len(calls) and calls[-1][1] > calls[0][1] and calls[-1][2]
