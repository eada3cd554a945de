"""``ilforge reference check`` end to end with the classical method only (a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilforge.cli import main
from ilforge.project import REFERENCE_CHECK, Project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "emim_bf4.yaml"


def test_reference_check_classical_json(tmp_path, capsys):
    pytest.importorskip("openmm")
    wd = tmp_path / "w"
    rc = main(["reference", "check", str(EXAMPLE), "--workdir", str(wd), "--methods", "classical", "--frames", "2",
               "--thermalise-ps", "0.3", "--interval-ps", "0.1", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == Project(wd).read_results(REFERENCE_CHECK)
    assert doc["composition_id"] == "neat" and doc["n_atoms"] == 96 and doc["n_molecules"] == 8
    assert doc["density_g_cm3"] == pytest.approx(1.28, abs=0.01)  # the experimental density
    assert doc["kappa_T_per_GPa"] == pytest.approx(0.343)
    (m,) = doc["methods"]
    assert m["name"] == "classical" and m["skipped"] is None and m["level_of_theory"].startswith("classical:")
    assert len(m["frame_pressures_GPa"]) == 2
    assert m["pressure_GPa"] == pytest.approx(sum(m["frame_pressures_GPa"]) / 2)
    assert abs(m["pressure_GPa"]) < 3.0 and m["implied_density_error_percent"] is not None
    pressures = [k for k in m if k.endswith("_GPa") and m[k] is not None]
    assert {"pressure_GPa", "pressure_spread_GPa", "atomic_pressure_GPa"} <= set(pressures)


def test_reference_check_refuses_unknown_methods(tmp_path, capsys):
    rc = main(["reference", "check", str(EXAMPLE), "--workdir", str(tmp_path / "w"), "--methods", "dft",
               "--frames", "1", "--thermalise-ps", "0.1", "--interval-ps", "0.1"])
    assert rc != 0 and "unknown ['dft']" in capsys.readouterr().err


def test_the_table_says_when_pressures_are_on_the_force_fields_structures():
    from ilforge.cli.reference import _table
    from ilforge.reference.check import ON_CLASSICAL_STRUCTURES, ReferenceCheckResult

    res = ReferenceCheckResult("neat", 298.15, 96, 8, 1.28, "experiment", "CL&P", 2, 0.343, "experiment")
    assert ON_CLASSICAL_STRUCTURES in _table(res)
    res.own_md_steps = 100
    text = _table(res)
    assert ON_CLASSICAL_STRUCTURES not in text and "then 100 steps of MD at every method's own level" in text
