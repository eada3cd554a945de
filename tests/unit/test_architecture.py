"""The joints of the package stay where DESIGN.md puts them (issue 11's done-when, as tests).

- Only the Project (``ilforge/project.py``) spells a path under the work directory.
- MACE is named only in the MACE backend module(s), the backend registry and dependency checks.
- Imports point one way: cli → pipeline → ``<pkg>/stage.py`` → library packages → base modules.
- Every package imports on its own.
- No function is longer than 60 lines, except the ones listed here with the reason.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ilforge"

#: names of the work directory's entries (project.py owns them)
WORKDIR_NAMES = {"boxes", "sampled", "models", "md", "results", "cache", "tasks", "frames.db", "pipeline.json",
                 "report.html", "recipe.yaml"}

#: rank of each top-level module/package: an import may point to the same rank or lower, never higher.
RANKS = {
    "errors": 0, "units": 0, "keys": 0, "labels": 0, "seeds": 0, "jsonio": 0, "trust": 0, "progress": 0,
    "project": 1, "chem": 1, "store": 1, "engine": 1, "envs": 1,
    "plan": 2, "build": 2, "forcefields": 2, "experiment": 2,
    "sample": 3, "reference": 4, "models": 5,
    "validate": 6, "md": 6, "analysis": 6,
    "report": 7, "learn": 7, "recipe": 8, "recipe_doc": 8,
    "stage": 9,  # any <package>/stage.py
    "pipeline": 10, "cli": 11,
}

#: functions allowed to be longer than 60 lines, with the reason
LONG_FUNCTIONS: dict[str, str] = {}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _rank(path: Path) -> int:
    rel = path.relative_to(SRC)
    if rel.name == "stage.py":
        return RANKS["stage"]
    top = rel.parts[0].removesuffix(".py")
    return RANKS.get(top, RANKS["cli"]) if top != "__init__" else 0


def _target_rank(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "ilforge" or len(parts) < 2:
        return None
    if parts[-1] == "stage":
        return RANKS["stage"]
    return RANKS.get(parts[1])


def test_every_module_has_a_rank():
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in SRC.rglob("*.py")} - {"__init__", "__main__"}
    assert tops <= set(RANKS), f"give these a rank in RANKS: {sorted(tops - set(RANKS))}"


def test_imports_point_one_way():
    bad = []
    for path, tree in _modules():
        own = _rank(path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = _target_rank(name)
                if target is not None and target > own:
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno} imports {name}")
                    break
    assert not bad, "imports from a lower layer to a higher one:\n" + "\n".join(bad)


def _path_literal(node) -> str | None:
    """A string constant used as a path part: an operand of ``/``, or an argument of joinpath/Path."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        head = node.value.split("/")[0]
        if head in WORKDIR_NAMES:
            return node.value
    return None


def test_only_the_project_spells_workdir_paths():
    bad = []
    for path, tree in _modules():
        if path.name == "project.py":
            continue
        for node in ast.walk(tree):
            cands = []
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                cands = [node.left, node.right]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("joinpath", "Path"):
                cands = list(node.args)
            for c in cands:
                lit = _path_literal(c)
                if lit:
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno}: {lit!r}")
    assert not bad, "work-directory paths built outside ilforge/project.py:\n" + "\n".join(bad)


def test_mace_is_named_only_in_its_backend():
    allowed = {"models/registry.py"}
    found = []
    for path in SRC.rglob("*.py"):
        rel = str(path.relative_to(SRC))
        if rel in allowed or path.name.startswith("mace"):
            continue
        if "mace" in path.read_text().lower():
            found.append(rel)
    assert not found, f"MACE named outside the MACE backend: {sorted(found)}"


def test_functions_are_short():
    long = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                name = f"{path.relative_to(SRC)}:{node.name}"
                if n > 60 and name not in LONG_FUNCTIONS:
                    long.append(f"{name} ({n} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


PACKAGES = sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file())


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_on_its_own(package):
    proc = subprocess.run([sys.executable, "-c", f"import ilforge.{package}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
