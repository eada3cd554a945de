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
