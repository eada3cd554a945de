"""The report shows the pre-flight reference check when its results exist."""

from ilforge.project import REFERENCE_CHECK, Project
from ilforge.report.build import build_sections


def test_reference_check_section(tmp_path):
    project = Project(tmp_path)
    project.write_results(REFERENCE_CHECK, {
        "composition_id": "neat", "temperature_K": 298.15, "density_g_cm3": 1.28, "n_frames": 3,
        "thermalised_with": "CL&P", "methods": [
            {"name": "GFN1-xTB", "chosen": True, "pressure_GPa": -1.3, "pressure_spread_GPa": 0.05,
             "implied_density_error_percent": 19.0, "seconds_per_frame": 1.0, "eos_model": "Tait",
             "warning": "GFN1-xTB implies +19 %"},
            {"name": "sevennet", "skipped": "no SevenNet environment"}]})
    sections = {s.title: s for s in build_sections(project, "mlip")}
    sec = sections["Reference level: pre-flight pressure check"]
    table = sec.blocks[0]
    assert table.rows[0][1] == "-1.30 ± 0.05" and table.rows[0][2] == "+19.0" and table.rows[0][3] == "1.523"
    assert table.rows[1][1] == "skipped"
    assert any("WARNING" in getattr(b, "text", "") for b in sec.blocks)


def test_property_table_puts_the_preflight_density_next_to_the_mlip(tmp_path):
    """The density row of the checked composition and temperature gets the density the recipe's
    labeler implies (check density × (1 + error)); other rows and compositions get '-'."""
    project = Project(tmp_path)
    project.write_results(REFERENCE_CHECK, {
        "composition_id": "neat", "temperature_K": 298.15, "density_g_cm3": 1.28, "n_frames": 3,
        "thermalised_with": "CL&P", "methods": [
            {"name": "GFN1-xTB", "chosen": False, "pressure_GPa": -1.3, "pressure_spread_GPa": 0.05,
             "implied_density_error_percent": 19.0, "seconds_per_frame": 1.0, "eos_model": "Tait"},
            {"name": "GFN2-xTB (recipe)", "chosen": True, "pressure_GPa": -0.2, "pressure_spread_GPa": 0.05,
             "implied_density_error_percent": 5.0, "seconds_per_frame": 4.0, "eos_model": "Tait"}]})
    rows = [{"property": "density_g_cm3", "T_K": 298.15, "predicted": 1.33, "predicted_err": 0.01, "experiment": 1.28,
             "rel_error": 0.039, "citation": "x"},
            {"property": "density_g_cm3", "T_K": 350.0, "predicted": 1.30, "experiment": None, "rel_error": None},
            {"property": "kappa_T_GPa-1", "T_K": 298.15, "predicted": 0.4, "experiment": None, "rel_error": None}]
    project.write_results("compare_neat", {"system": "EMIM_BF4", "rows": rows})
    project.write_results("compare_other", {"system": "EMIM_BF4", "rows": rows[:1]})
    sec = {s.title: s for s in build_sections(project, "mlip")}["Properties vs experiment"]
    table = sec.blocks[0]
    assert table.headers[-1] == "reference level, pre-flight"
    assert [r[-1] for r in table.rows] == ["1.344", "-", "-", "-"]
    assert any("GFN2-xTB (recipe)" in getattr(b, "text", "") and "1.344" in getattr(b, "text", "") for b in sec.blocks)
