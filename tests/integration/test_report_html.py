"""The HTML renderer's page loads in a real browser, with its sections, figures and no script error."""

import numpy as np

from ilforge.report.html import Figure, Paragraph, Preformatted, Section, Table, render_html
from ilforge.report.plots import line_plot

from browser import load_page  # tests/ is on sys.path (rootdir conftest)


def test_page_loads_in_chromium_with_every_section(tmp_path):
    x = np.linspace(0, 1, 20)
    png = line_plot({"y": (x, x**2)}, "x", "y")
    sections = [
        Section("recipe", "Recipe", [Preformatted("name: t")]),
        Section("errors", "Errors", [Table(["composition", "E MAE / meV/atom"], [["neat", 1.234]], "test")]),
        Section("plots", "Plots", [Figure(png, "a parabola"), Paragraph("<b>escaped</b>")]),
    ]
    path = tmp_path / "report.html"
    path.write_text(render_html("Test report", sections))
    page = load_page(path)
    assert page["section_ids"] == ["recipe", "errors", "plots"]
    assert page["attrs"].get("loaded") == "3"
    assert page["attrs"].get("errors") == "0"
    assert page["attrs"].get("broken-images") == "0"
    assert "&lt;b&gt;escaped&lt;/b&gt;" in page["dom"]
