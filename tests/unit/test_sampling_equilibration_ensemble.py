"""``sampling.equilibration_ensemble: nvt`` keeps the packed density through equilibration and an NVT
production (the demo labels structures at the experimental density, not at its small box's CL&P
density); the default NPT equilibration lets the barostat move the box."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openmm")

from ase.io import read  # noqa: E402

from ilforge.forcefields.assign import templates_for  # noqa: E402
from ilforge.forcefields.openmm_system import build_system  # noqa: E402
from ilforge.recipe import recipe_from_dict  # noqa: E402
from ilforge.sample.md import run_classical_md  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "emim_bf4_4ip.extxyz"


def _run(equilibration_ensemble, tmp_path):
    recipe = recipe_from_dict({
        "name": "eq", "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 4},
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", "cutoff_A": 4.5}})
    box = read(DATA, 0)
    templates = templates_for(["BF4", "EMIM"], recipe.library(), recipe.forcefield, cache_dir=tmp_path, seed=0)
    system, info = build_system(box, templates, constraints="none", **recipe.forcefield.system_options(4.5))
    # 20 kbar squeezes the box within a picosecond when the barostat is on
    res = run_classical_md(box, system, info, 400.0, pressure_bar=20000.0, equilibration_ps=1.0, production_ps=0.2,
                           ensemble="nvt", equilibration_ensemble=equilibration_ensemble, interval_ps=0.1,
                           report_interval_ps=0.1, seed=1)
    return box, res


def test_nvt_equilibration_keeps_the_packed_density(tmp_path):
    box, res = _run("nvt", tmp_path)
    assert np.allclose([f.get_volume() for f in res.frames], box.get_volume(), rtol=1e-9)
    assert np.ptp(res.densities_g_cm3) < 1e-9


def test_npt_equilibration_moves_the_box(tmp_path):
    box, res = _run("npt", tmp_path)
    assert res.frames[-1].get_volume() < 0.97 * box.get_volume()
