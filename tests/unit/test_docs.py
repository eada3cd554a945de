"""Docs stay true to the code: the recipe reference is generated from the models."""

from pathlib import Path

from ilforge.recipe_doc import recipe_reference_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_recipe_reference_is_up_to_date():
    assert (DOCS / "recipe.md").read_text() == recipe_reference_markdown(), (
        "docs/recipe.md is stale: run `python -m ilforge.recipe_doc > docs/recipe.md`"
    )


def test_every_verb_has_help(capsys):
    from ilforge.cli import _verb_modules, main

    verbs = [m.VERB for m in _verb_modules()]
    assert {"init", "species", "plan", "build"} <= set(verbs)
    for verb in verbs:
        assert main([verb, "--help"]) == 0  # argparse's exit is turned into a return code
        assert "usage: ilforge " + verb in capsys.readouterr().out
