"""Strategy values are validated when the recipe is loaded (issue 16), not when labelling fails."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ilforge.reference.settings import LabelSettings


def _error(strategies: dict) -> str:
    with pytest.raises(ValidationError) as exc:
        LabelSettings.model_validate({"strategies": strategies})
    return str(exc.value)


@pytest.mark.parametrize("percent", [-150.0, -100.0, float("inf"), float("nan")])
def test_volume_scan_percent_must_leave_a_positive_finite_volume(percent):
    msg = _error({"volume_scan": {"percent": [-4.0, percent]}})
    assert "volume_scan.percent" in msg and "> -100" in msg


def test_volume_scan_accepts_physical_changes():
    s = LabelSettings.model_validate({"strategies": {"volume_scan": {"percent": [-99.0, -4, 4, 200]}}})
    assert s.strategies.volume_scan.percent == [-99.0, -4.0, 4.0, 200.0]


@pytest.mark.parametrize("stdev", [-0.1, float("inf"), float("nan")])
def test_rattle_stdev_must_be_positive_and_finite(stdev):
    msg = _error({"rattle": {"copies": 1, "stdev_A": stdev}})
    assert "rattle.stdev_A" in msg


@pytest.mark.parametrize("strategy", ["rattle", "volume_scan", "reference_md", "relax"])
def test_frames_per_composition_must_not_be_negative(strategy):
    msg = _error({strategy: {"frames_per_composition": -1}})
    assert f"{strategy}.frames_per_composition" in msg and "greater than or equal to 0" in msg


def test_dispersion_choices_are_checked():
    with pytest.raises(ValidationError, match="dispersion"):
        LabelSettings.model_validate({"dispersion": "d4"})
    assert LabelSettings().dispersion == "none"


def test_recipe_reference_check_section(tmp_path):
    """`reference_check` is validated with the recipe; `enabled: false` makes the check stage a no-op."""
    import pytest

    from ilforge.project import REFERENCE_CHECK, Project
    from ilforge.recipe import recipe_from_dict
    from ilforge.reference.stage import run_check

    base = {"name": "t", "components": {"S": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 2},
            "compositions": [{"id": "n", "fractions": {"S": 1.0}}]}
    r = recipe_from_dict(base)
    assert r.reference_check.enabled and r.reference_check.methods == ["labeler"] and r.reference_check.frames == 4
    with pytest.raises(Exception, match="gfn3"):
        recipe_from_dict({**base, "reference_check": {"methods": ["gfn3"]}})
    with pytest.raises(Exception, match="frames"):
        recipe_from_dict({**base, "reference_check": {"frames": 0}})
    off = recipe_from_dict({**base, "reference_check": {"enabled": False}})
    project = Project(tmp_path)
    assert run_check(project, off) is None
    assert project.read_results(REFERENCE_CHECK) is None
