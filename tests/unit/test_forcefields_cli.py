"""``ilforge ff check``: parameters per atom, net charges, and errors naming missing types."""

from __future__ import annotations

import pytest
import yaml

pytest.importorskip("networkx")

from ilforge.cli import main  # noqa: E402


def _recipe(tmp_path, ffpath):
    data = {
        "name": "t",
        "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
        "box": {"ion_pairs": 2},
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", "path": str(ffpath), "charge_scale": 0.8},
    }
    p = tmp_path / "recipe.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_ff_check_prints_types_and_net_charges(clandp, tmp_path, capsys):
    assert main(["ff", "check", str(_recipe(tmp_path, clandp))]) == 0
    out = capsys.readouterr().out
    assert "EMIM (CL&P): 19 atoms, net charge +1.0000 e (scaled +0.8000 e)" in out
    assert "BF4 (CL&P): 5 atoms, net charge -1.0000 e" in out
    assert " CR " in out and " FB " in out


def test_ff_check_missing_parameter_names_types(clandp, tmp_path, capsys):
    lines = (clandp / "il.ff").read_text().splitlines()
    lines = [ln for ln in lines if ln.split()[:4] != ["FB", "B", "FB", "harm"] and ln.split()[:4] != ["F", "B", "F", "harm"]]
    ff = tmp_path / "ff"
    ff.mkdir()
    (ff / "il.ff").write_text("\n".join(lines) + "\n")
    for name in ("c2c1im.zmat", "BF4.zmat"):
        (ff / name).write_text((clandp / name).read_text())
    assert main(["ff", "check", str(_recipe(tmp_path, ff))]) == 2
    err = capsys.readouterr().err
    assert "missing angle parameters for types F-B-F" in err and "BF4" in err


def test_ff_check_pf6_uses_the_shipped_clandp_and_lists_12_angles(tmp_path, capsys, monkeypatch):
    """No forcefield.path: the CL&P copy shipped in the package, from any working directory; PF6- has
    fftool's 12 F-P-F angle terms (the 3 trans pairs at 180° carry none)."""
    data = {
        "name": "t",
        "components": {"LiPF6": {"Li": 1, "PF6": 1}, "EMIM_PF6": {"EMIM": 1, "PF6": 1}},
        "box": {"ion_pairs": 2},
        "compositions": [{"id": "x", "fractions": {"LiPF6": 0.5, "EMIM_PF6": 0.5}}],
        "forcefield": {"type": "clandp"},
    }
    p = tmp_path / "recipe.yaml"
    p.write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    assert main(["ff", "check", str(p)]) == 0
    out = capsys.readouterr().out
    assert "PF6 (CL&P): 7 atoms, net charge -1.0000 e (scaled -0.8000 e); 6 bonds, 12 angles" in out
    assert "Li (CL&P): 1 atoms" in out and "EMIM (CL&P): 19 atoms" in out
