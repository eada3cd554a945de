"""Shipped experimental data and `ilforge compare`."""

from __future__ import annotations

import json

import pytest
import yaml

from ilforge.cli import main
from ilforge.errors import IlforgeError
from ilforge.experiment.compare import compare, predictions_from_analysis
from ilforge.experiment.reference import build_reference, load_reference, lookup


def test_packaged_reference_is_built_from_the_shipped_compilation(experiment_data):
    from importlib import resources

    built = build_reference(experiment_data / "il_reference_data.yaml")
    shipped = yaml.safe_load(resources.files("ilforge.experiment").joinpath("data/reference.yaml").read_text())
    assert shipped == yaml.safe_load(yaml.safe_dump(built))


def test_every_record_has_a_citation_and_status():
    recs = load_reference()
    assert len(recs) > 150
    for r in recs:
        assert r.status, r
        if r.status.startswith("verified"):
            assert r.citation, r


def test_lookup_and_relative_errors():
    rho = lookup("EMIM_BF4", "density_g_cm3", 298.15, 1.0, tol_K=0.2)
    assert any(abs(r.value - 1.2805) < 1e-9 for r in rho)
    rows = compare("EMIM_BF4", [
        {"property": "density_g_cm3", "value": 1.30, "err": 0.01, "T_K": 298.15, "P_bar": 1.0},
        {"property": "density_g_cm3", "value": 1.25, "T_K": 350.0, "P_bar": 1.0},
        {"property": "alpha_K-1", "value": 6e-4, "T_K": 298.15},
        {"property": "kappa_T_GPa-1", "value": 0.40, "T_K": 298.15, "P_bar": 1.0},
        {"property": "conductivity_S_m", "value": 1.0, "T_K": 298.15, "P_bar": 1.0},
        {"property": "viscosity_Pa_s", "value": 0.03, "T_K": 400.0, "P_bar": 1.0},
    ])
    exp298 = rows[0]["experiment"]
    assert 1.279 < exp298 < 1.284 and rows[0]["rel_error"] == pytest.approx((1.30 - exp298) / exp298)
    assert rows[1]["how"].startswith("interpolated") and rows[1]["experiment"] == pytest.approx(1.2800 - 0.7555e-3 * (350 - 298.15))
    assert rows[2]["experiment"] == pytest.approx(0.7555 / 1280.0)
    assert rows[3]["experiment"] == pytest.approx(0.343, abs=0.01)  # mean of the 298 K Tait fits
    assert rows[4]["experiment"] == pytest.approx(1.5165)
    assert rows[5]["experiment"] is None and rows[5]["rel_error"] is None
    with pytest.raises(IlforgeError, match="known systems"):
        compare("NOPE", rows[:1])


def test_compare_cli(tmp_path, capsys):
    doc = {"runs": [{"temperature_K": 298.15, "pressure_bar": 1.0, "density": {"density_mean_g_cm3": 1.25, "density_err_g_cm3": 0.002}}],
           "eos": {"density_vs_T": {"drho_dT": -7e-4, "drho_dT_err": 1e-5, "alpha_K-1": 5.6e-4}}}
    f = tmp_path / "analysis.json"
    f.write_text(json.dumps(doc))
    assert len(predictions_from_analysis(doc)) == 3
    assert main(["compare", str(f), "--system", "EMIM_BF4", "--out", str(tmp_path / "cmp.json")]) == 0
    out = capsys.readouterr().out
    assert "density_g_cm3" in out and "-2.4%" in out
    rows = json.loads((tmp_path / "cmp.json").read_text())["rows"]
    assert rows[0]["citation"]


def test_experimental_viscosity_for_yeh_hummer():
    from ilforge.analysis.driver import experimental_viscosity_Pa_s

    assert experimental_viscosity_Pa_s("EMIM_BF4", 298.15) == pytest.approx(0.03617)
    assert experimental_viscosity_Pa_s("EMIM_BF4", 400.0) is None
