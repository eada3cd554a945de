"""The trust boundary (issue 16): code and commands named in a recipe run only with the user's opt-in."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from ase import Atoms

from ilforge import trust
from ilforge.reference.ase_calc import ASECalculatorLabeler
from ilforge.reference.cp2k import CP2KLabeler
from ilforge.reference.espresso import EspressoLabeler
from ilforge.reference.registry import make_labeler
from ilforge.reference.settings import LabelSettings


@pytest.fixture
def no_opt_in(monkeypatch):
    monkeypatch.delenv(trust.ENV_VAR, raising=False)


@pytest.fixture
def opt_in(monkeypatch):
    monkeypatch.setenv(trust.ENV_VAR, "1")
    trust._announced.clear()


def test_os_system_as_a_calculator_is_refused_without_the_opt_in(no_opt_in):
    settings = LabelSettings(labeler="ase", options={"calculator": "os:system", "kwargs": {"command": "touch x"}})
    with pytest.raises(trust.RecipeCodeRefused) as err:
        make_labeler(settings)
    msg = str(err.value)
    assert "labels.options.calculator" in msg and "'os:system'" in msg
    assert "--allow-recipe-code" in msg and "ILFORGE_ALLOW_RECIPE_CODE=1" in msg
    assert not err.value.retryable


@pytest.mark.parametrize("value,allowed", [("1", True), ("yes", True), ("TRUE", True), ("0", False), ("", False)])
def test_the_opt_in_values(monkeypatch, value, allowed):
    monkeypatch.setenv(trust.ENV_VAR, value)
    assert trust.recipe_code_allowed() is allowed


def test_with_the_opt_in_the_import_is_announced_once(opt_in, caplog):
    with caplog.at_level(logging.WARNING, logger="ilforge.trust"):
        lab = ASECalculatorLabeler("os:system")
        ASECalculatorLabeler("os:system")
    lines = [r.getMessage() for r in caplog.records if "import 'os:system'" in r.getMessage()]
    assert len(lines) == 1 and "ILFORGE_ALLOW_RECIPE_CODE" in lines[0]
    assert lab._calculator_class() is __import__("os").system


def test_builtin_ase_calculators_need_no_opt_in(no_opt_in):
    lab = ASECalculatorLabeler("ase.calculators.emt.EMT")
    a = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]], cell=[8, 8, 8], pbc=True)
    assert np.isfinite(lab.label(a).energy)


def test_describing_imports_nothing_and_labelling_then_asks(no_opt_in):
    with trust.describing():
        lab = ASECalculatorLabeler("os:system", name="sys")
    assert lab.level_of_theory == "ase:sys;{}" and lab._cls is None
    with pytest.raises(trust.RecipeCodeRefused):
        lab.label(Atoms("H"))


def _pseudos(tmp_path):
    for f in ("O.upf", "H.upf"):
        (tmp_path / f).write_text("fake\n")
    return {"O": "O.upf", "H": "H.upf"}, str(tmp_path)


def test_espresso_command_runs_as_an_argument_list_only_with_the_opt_in(tmp_path, monkeypatch):
    pp, pdir = _pseudos(tmp_path)
    monkeypatch.delenv(trust.ENV_VAR, raising=False)
    assert EspressoLabeler(pp, pdir).argv == ["pw.x"]
    with pytest.raises(trust.RecipeCodeRefused, match="labels.options.command.*'sh'"):
        EspressoLabeler(pp, pdir, command="sh -c 'touch pwned; pw.x'")
    monkeypatch.setenv(trust.ENV_VAR, "1")
    lab = EspressoLabeler(pp, pdir, command="sh -c 'touch pwned; pw.x'")
    assert lab.argv == ["sh", "-c", "touch pwned; pw.x"]
    argv = lab.calculator(str(tmp_path / "run")).profile.get_command("espresso.pwi")
    assert argv[:3] == ["sh", "-c", "touch pwned; pw.x"]  # exactly the words given, no second shell parse


def test_cp2k_preprocessor_directives_and_commands_need_the_opt_in(monkeypatch, caplog):
    monkeypatch.delenv(trust.ENV_VAR, raising=False)
    for text in ("@INCLUDE /etc/passwd\n", "@SET X 1\n&GLOBAL\n&END GLOBAL\n", "  @if 1\n@endif\n"):
        with pytest.raises(trust.RecipeCodeRefused, match="labels.options.extra_input.*@"):
            CP2KLabeler(extra_input=text)
    with pytest.raises(trust.RecipeCodeRefused, match="isolated_input"):
        CP2KLabeler(isolated_input="@INCLUDE x.inc")
    with pytest.raises(trust.RecipeCodeRefused, match="labels.options.command"):
        CP2KLabeler(command="cp2k_shell.psmp; rm -rf ~")
    plain = "&FORCE_EVAL\n&DFT\nWFN_RESTART_FILE_NAME old.wfn\n&END DFT\n&END FORCE_EVAL\n"
    with caplog.at_level(logging.WARNING, logger="ilforge.reference.cp2k"):
        lab = CP2KLabeler(extra_input=plain)
    assert lab.argv == ["cp2k_shell.psmp"]
    assert any("raw CP2K input" in r.getMessage() and "WFN_RESTART_FILE_NAME" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv(trust.ENV_VAR, "1")
    assert CP2KLabeler(extra_input="@INCLUDE extra.inc\n", command=["srun", "cp2k_shell.psmp"]).argv == ["srun", "cp2k_shell.psmp"]
