"""`ilforge run --seed N` replaces the recipe's seed and records it in the project's recipe copy."""

import yaml

from ilforge.cli import main
from ilforge.pipeline import stage_status
from ilforge.project import Project
from ilforge.recipe import load_recipe

RECIPE = {"name": "s", "seed": 1, "components": {"S": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 2},
          "compositions": [{"id": "n", "fractions": {"S": 1.0}}]}


def test_seed_override_is_recorded(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("# a comment\n" + yaml.safe_dump(RECIPE))
    wd = tmp_path / "w"
    assert main(["run", str(path), "--workdir", str(wd), "--only", "plan", "--seed", "5"]) == 0
    project = Project(wd)
    copy = load_recipe(project.recipe_copy)
    assert copy.seed == 5 and load_recipe(path).seed == 1  # the user's file is untouched
    status = dict((n, s) for n, s, _ in stage_status(copy, project))
    assert status["plan"] == "done"
    # the same seed again: nothing reruns
    capsys.readouterr()
    assert main(["run", str(path), "--workdir", str(wd), "--only", "plan", "--seed", "5"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert load_recipe(project.recipe_copy).seed == 5
