"""The typed settings map onto mace-torch's own argument parser (no hand-kept 200-flag namespace)."""

from pathlib import Path

import pytest

pytest.importorskip("mace")

from ilforge.errors import IlforgeError  # noqa: E402
from ilforge.models.e0s import E0s  # noqa: E402
from ilforge.models.mace_cli import _mace_parser, mace_arguments  # noqa: E402
from ilforge.models.mace_settings import MaceSettings  # noqa: E402


def test_arguments_parse_with_mace_and_carry_settings(tmp_path):
    s = MaceSettings(preset="small", max_epochs=7, stress_weight=0.5, dtype="float32", seed=4,
                         extra={"swa": True, "lr_factor": 0.5})
    argv = mace_arguments(s, tmp_path, E0s({"H": -13.6, "O": -432.0}, "isolated"), tmp_path / "t.xyz", tmp_path / "v.xyz")
    ns = _mace_parser().parse_args(argv)
    assert ns.max_num_epochs == 7 and ns.default_dtype == "float32" and ns.seed == 4
    assert ns.num_channels == 32 and ns.max_L == 0 and ns.num_interactions == 1 and ns.r_max == 5.0
    assert ns.loss == "stress" and ns.stress_weight == 0.5
    assert ns.swa is True and ns.lr_factor == 0.5
    assert eval(ns.E0s) == {1: -13.6, 8: -432.0}
    assert ns.energy_key == "REF_energy" and ns.forces_key == "REF_forces"


def test_unknown_extra_is_an_error(tmp_path):
    s = MaceSettings(extra={"no_such_option": 1})
    with pytest.raises(IlforgeError, match="no_such_option"):
        mace_arguments(s, Path(tmp_path), E0s({"H": 0.0}, "isolated"), tmp_path / "t", tmp_path / "v")
