"""Resumability of the stage runner: skip what is done, redo what changed or failed."""

from dataclasses import dataclass

import pytest

from ilforge.errors import IlforgeError
from ilforge.pipeline import STAGES, Stage, load_state, run_stages, stage_status
from ilforge.project import Project
from ilforge.recipe import recipe_from_dict

RECIPE = {
    "name": "t",
    "components": {"S": {"EMIM": 1, "BF4": 1}},
    "box": {"ion_pairs": 2},
    "compositions": [{"id": "n", "fractions": {"S": 1.0}}],
}


@dataclass
class Ran:
    name: str

    def summary(self) -> dict:
        return {"ran": self.name}


def make_stages(calls, fail_at=None):
    def runner(name):
        def run(project, recipe):
            assert isinstance(project, Project)
            calls.append(name)
            if name == fail_at:
                raise RuntimeError("boom")
            return Ran(name)

        return run

    return [
        Stage("build", ("components", "box"), runner("build")),
        Stage("label", ("labels",), runner("label")),
        Stage("train", ("training",), runner("train")),
    ]


def test_second_run_skips_everything(tmp_path):
    calls = []
    r = recipe_from_dict(RECIPE)
    run_stages(r, Project(tmp_path), make_stages(calls))
    run_stages(r, Project(tmp_path), make_stages(calls))
    assert calls == ["build", "label", "train"]
    assert load_state(Project(tmp_path))["train"].summary == {"ran": "train"}


def test_changed_section_reruns_that_stage_and_downstream(tmp_path):
    calls = []
    run_stages(recipe_from_dict(RECIPE), Project(tmp_path), make_stages(calls))
    changed = recipe_from_dict({**RECIPE, "labels": {"labeler": "xtb", "method": "GFN2-xTB"}})
    assert [s for _, s, _ in stage_status(changed, Project(tmp_path), make_stages([]))] == ["done", "stale", "stale"]
    run_stages(changed, Project(tmp_path), make_stages(calls))
    assert calls == ["build", "label", "train", "label", "train"]


def test_a_stage_that_ran_makes_the_later_ones_stale(tmp_path):
    calls = []
    r = recipe_from_dict(RECIPE)
    run_stages(r, Project(tmp_path), make_stages(calls))
    run_stages(r, Project(tmp_path), make_stages(calls), force=["label"])  # label's output may differ now
    assert calls == ["build", "label", "train", "label", "train"]
    run_stages(r, Project(tmp_path), make_stages(calls), force=["build"], only=["build"])
    assert [s for _, s, _ in stage_status(r, Project(tmp_path), make_stages([]))] == ["done", "stale", "stale"]
    run_stages(r, Project(tmp_path), make_stages(calls))
    assert calls[5:] == ["build", "label", "train"]


def test_failure_is_recorded_and_resumed(tmp_path):
    calls = []
    r = recipe_from_dict(RECIPE)
    with pytest.raises(RuntimeError):
        run_stages(r, Project(tmp_path), make_stages(calls, fail_at="label"))
    st = load_state(Project(tmp_path))
    assert st["build"].status == "done" and st["label"].status == "failed" and "boom" in st["label"].error
    run_stages(r, Project(tmp_path), make_stages(calls))
    assert calls == ["build", "label", "label", "train"]


def test_only_requires_upstream(tmp_path):
    r = recipe_from_dict(RECIPE)
    with pytest.raises(IlforgeError, match="must run before train"):
        run_stages(r, Project(tmp_path), make_stages([]), only=["train"])
    with pytest.raises(IlforgeError, match="unknown stage 'nope'"):
        run_stages(r, Project(tmp_path), make_stages([]), force=["nope"])


def test_every_stage_names_an_importable_run_function():
    """The pipeline's stages call the same ``run_<stage>(project, recipe)`` functions the CLI verbs call."""
    import importlib
    import inspect

    for st in STAGES:
        module, _, attr = st.function.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        assert attr == f"run_{st.name}" and list(inspect.signature(fn).parameters)[:2] == ["project", "recipe"]


def test_a_side_stage_is_not_a_link_of_the_chain(tmp_path):
    """The pre-flight check (a side stage) reruns when its settings change, and its rerun leaves
    the later stages done: they do not read what it writes."""
    calls = []

    def stages(c):
        base = make_stages(c)

        def check(project, recipe):
            c.append("check")
            return Ran("check")

        return [base[0], Stage("check", ("reference_check",), check, side=True), *base[1:]]

    r = recipe_from_dict(RECIPE)
    run_stages(r, Project(tmp_path), stages(calls))
    assert calls == ["build", "check", "label", "train"]
    other = recipe_from_dict({**RECIPE, "reference_check": {"frames": 2}})
    assert [s for _, s, _ in stage_status(other, Project(tmp_path), stages([]))] == ["done", "stale", "done", "done"]
    run_stages(other, Project(tmp_path), stages(calls))
    assert calls[4:] == ["check"]
    assert [s for _, s, _ in stage_status(other, Project(tmp_path), stages([]))] == ["done"] * 4
    # upstream of it still reruns it and everything after
    changed = recipe_from_dict({**RECIPE, "reference_check": {"frames": 2}, "box": {"ion_pairs": 3}})
    run_stages(changed, Project(tmp_path), stages(calls))
    assert calls[5:] == ["build", "check", "label", "train"]


def test_the_check_stage_is_a_side_stage_after_build():
    names = [s.name for s in STAGES]
    assert names.index("check") == names.index("build") + 1
    assert [s.name for s in STAGES if s.side] == ["check"]


def test_an_optional_stage_without_its_section_leaves_the_chain_unchanged(tmp_path):
    """Adding an optional stage (learn) whose section is absent changes no later hash, and running it
    does not make later stages stale; with its section present it is a link like any other."""
    calls = []

    def stages(c, with_learn=True):
        base = make_stages(c)

        def learn(project, recipe):
            c.append("learn")
            return Ran("learn")

        extra = [Stage("learn", ("learning",), learn, optional=True)] if with_learn else []
        return [base[0], base[1], *extra, base[2]]

    r = recipe_from_dict(RECIPE)
    run_stages(r, Project(tmp_path), stages(calls, with_learn=False))
    assert [s for _, s, _ in stage_status(r, Project(tmp_path), stages([]))] == ["done", "done", "pending", "done"]
    run_stages(r, Project(tmp_path), stages(calls))
    assert calls == ["build", "label", "train", "learn"]  # train stays done
    learning = recipe_from_dict({**RECIPE, "learning": {"generations": 1}})
    assert [s for _, s, _ in stage_status(learning, Project(tmp_path), stages([]))] == ["done", "done", "stale", "stale"]
