"""Quantum ESPRESSO labeler: input generation (pw.x itself is not installed on the test machines)."""

import pytest
from ase.build import molecule

from ilforge.labels import LabelError
from ilforge.reference.espresso import EspressoLabeler


def _labeler(tmp_path, **kw):
    for f in ("O.upf", "H.upf"):
        (tmp_path / f).write_text("fake pseudopotential\n")
    return EspressoLabeler({"O": "O.upf", "H": "H.upf"}, str(tmp_path), **kw)


def test_input_is_pbe_d3_with_forces_and_stress(tmp_path):
    lab = _labeler(tmp_path)
    assert lab.level_of_theory.startswith("espresso:PBE-dft-d3;ecutwfc=60Ry;kpts=gamma;")
    a = molecule("H2O")
    a.cell = [6, 6, 6]
    a.pbc = True
    calc = lab.calculator(str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    calc.template.write_input(calc.profile, tmp_path / "run", a, calc.parameters, ["energy", "forces", "stress"])
    text = (tmp_path / "run" / "espresso.pwi").read_text().lower()
    for needle in ("vdw_corr", "dft-d3", "tprnfor", "tstress", "input_dft", "'pbe'", "o.upf", "k_points gamma"):
        assert needle in text, needle
    other = _labeler(tmp_path, input_data={"system": {"ecutwfc": 80}})
    assert other.level_of_theory != lab.level_of_theory and "ecutwfc=80Ry" in other.level_of_theory


def test_missing_pseudopotentials_are_reported(tmp_path):
    with pytest.raises(LabelError, match="not found"):
        EspressoLabeler({"O": "O.upf"}, str(tmp_path))
    with pytest.raises(LabelError, match="pseudopotentials"):
        EspressoLabeler({}, str(tmp_path))
