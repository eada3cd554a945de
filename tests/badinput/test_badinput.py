"""The bad-input suite (issue 16): every case in ``cases.yaml`` runs ``ilforge`` in-process with bad
arguments or files and must end with the documented exit code (docs/errors.md), a message matching
the case's pattern, no Python traceback, and within its time bound.

A case (``cases.yaml``):

``id``
    unique name; ``argv`` the command line after ``ilforge`` with placeholders ``{case}`` (the case's
    own folder, also the current directory), ``{recipe}`` (``{case}/recipe.yaml``), ``{work}``
    (``{case}/work``) and ``{assets}`` (shared inputs: ``frames.extxyz`` EMT-labelled Cu/Au frames,
    ``box.extxyz`` a 96-atom EMIM-BF4 box, ``project/`` a work directory with a labelled store).
``recipe``
    a patch of the base recipe (:data:`BASE_RECIPE`; nested mappings merge, ``__delete__`` removes a
    key) written to ``{recipe}``; or ``recipe_text``, the file's text as is.
``copy``
    assets copied into the case folder first: ``{asset: destination}``.
``files``
    files to create: ``{path: spec}`` with spec a text, or ``{random: N}`` (N random bytes),
    ``{latin1: text}``, ``{repeat: text, times: N}``, ``{truncate: path, keep: fraction}`` (a truncated
    copy of a file already in the case folder or the assets).
``exit``, ``match``
    the exit code and a regular expression the output (stderr + stdout) must contain.
``timeout_s``
    the time bound (default 30 s); ``xfail``: the owner of a fix not landed yet; ``skip_root``: the
    case needs a non-root user (permission checks).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())
LOT = "emt:ase"

BASE_RECIPE = {
    "name": "bad_input",
    "seed": 1,
    "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
    "box": {"ion_pairs": 4},
    "temperatures_K": [298.15],
    "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
    "training_compositions": ["neat"],
    "sampling": {"equilibration_ps": 1, "production_ps": 2, "interval_ps": 1},
    "md": {"equilibration_ps": 0.0, "production_ps": 0.005, "timestep_fs": 0.5, "save_every_steps": 5},
}


class CaseTimeout(BaseException):
    """Raised by the alarm: a BaseException, so the CLI's catch-all cannot swallow it."""


def _merge(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if v == "__delete__":
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _emt_frames(n: int = 6, seed: int = 0):
    """Rattled Cu/Au fcc cells labelled with ASE's EMT (as tests/integration/emt_frames.py)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from ilforge import keys

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 1, 1))
        if i % 2:
            a[0].symbol = "Au"
        a.positions += rng.normal(0, 0.1, a.positions.shape)
        a.calc = EMT()
        a.info[keys.REF_ENERGY] = float(a.get_potential_energy())
        a.arrays[keys.REF_FORCES] = a.get_forces().copy()
        a.info[keys.REF_STRESS] = a.get_stress(voigt=True).copy()
        a.calc = None
        a.info[keys.LEVEL_OF_THEORY] = LOT
        a.info[keys.CONFIG_TYPE] = "rattle"
        a.info[keys.COMPOSITION_ID] = "neat"
        a.info[keys.TEMPERATURE_K] = 300.0
        frames.append(a)
    return frames


@pytest.fixture(scope="session")
def assets(tmp_path_factory) -> Path:
    from ase.io import write

    from ilforge.project import Project
    from ilforge.store.frames import FrameStore

    root = tmp_path_factory.mktemp("badinput_assets")
    write(root / "frames.extxyz", _emt_frames(), format="extxyz")
    shutil.copyfile(REPO / "tests" / "data" / "emim_bf4_4ip.extxyz", root / "box.extxyz")
    (root / "recipe.yaml").write_text(yaml.safe_dump(BASE_RECIPE, sort_keys=False))
    project = Project.init(root / "project", root / "recipe.yaml")
    FrameStore.open(project.frames_db).import_extxyz(root / "frames.extxyz", level_of_theory=LOT)
    return root


def _fill(value, names: dict):
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _make_file(path: Path, spec, case_dir: Path, assets: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, str):
        path.write_text(spec)
    elif "random" in spec:
        data = np.random.default_rng(int(spec.get("seed", 0))).integers(0, 256, int(spec["random"]), dtype=np.uint8)
        path.write_bytes(data.tobytes())
    elif "latin1" in spec:
        path.write_bytes(spec["latin1"].encode("latin-1"))
    elif "repeat" in spec:
        path.write_text(spec["repeat"] * int(spec["times"]))
    elif "truncate" in spec:
        src = case_dir / spec["truncate"] if (case_dir / spec["truncate"]).exists() else assets / spec["truncate"]
        raw = src.read_bytes()
        path.write_bytes(raw[: int(len(raw) * float(spec.get("keep", 0.5)))])
    else:
        raise ValueError(f"unknown file spec {spec!r}")


def _prepare(case: dict, case_dir: Path, assets: Path) -> dict:
    names = {"case": str(case_dir), "recipe": str(case_dir / "recipe.yaml"), "work": str(case_dir / "work"),
             "assets": str(assets)}
    for src, dst in (case.get("copy") or {}).items():
        s, d = assets / src, case_dir / _fill(dst, names)
        shutil.copytree(s, d) if s.is_dir() else shutil.copyfile(s, d)
    if "recipe" in case:
        patch = _fill(case["recipe"], names)
        (case_dir / "recipe.yaml").write_text(yaml.safe_dump(_merge(BASE_RECIPE, patch), sort_keys=False))
    if "recipe_text" in case:
        (case_dir / "recipe.yaml").write_text(case["recipe_text"])
    for rel, spec in (case.get("files") or {}).items():
        _make_file(case_dir / _fill(rel, names), _fill(spec, names), case_dir, assets)
    return names


def _params():
    out = []
    for case in CASES:
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=f"owner: {case['xfail']}"))
        if case.get("skip_root") and hasattr(os, "geteuid") and os.geteuid() == 0:
            marks.append(pytest.mark.skip(reason="permission checks do not apply to root"))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


def _alarm(signum, frame):
    raise CaseTimeout()


@pytest.mark.parametrize("case", _params())
def test_bad_input(case, assets, tmp_path, monkeypatch, capsys):
    from ilforge.cli import main

    case_dir = tmp_path / "case"
    case_dir.mkdir()
    names = _prepare(case, case_dir, assets)
    monkeypatch.chdir(case_dir)
    argv = [str(a) for a in _fill(case["argv"], names)]
    limit = float(case.get("timeout_s", 30))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    t0 = time.perf_counter()
    try:
        rc = main(argv)
    except CaseTimeout:
        pytest.fail(f"ilforge {' '.join(argv)} did not finish within {limit:g} s (a hang)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    text = err + out
    if os.environ.get("ILFORGE_BADINPUT_SHOW"):  # print every answer, to review the messages
        print(f"\n### {case['id']}: exit {rc}, {elapsed:.1f} s\n{text.strip()[:600]}", file=sys.__stderr__)
    assert "Traceback" not in text, text[-3000:]
    assert rc == case["exit"], f"exit code {rc}, expected {case['exit']}:\n{text[-3000:]}"
    assert re.search(case["match"], text, re.S | re.I), f"no /{case['match']}/ in:\n{text[-3000:]}"
    assert elapsed <= limit


def test_cases_cover_every_verb():
    """Every verb of `ilforge --help` has bad-input cases, the suite has >= 120 cases and unique ids."""
    from ilforge.cli import _verb_modules

    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 120
    verbs = {m.VERB for m in _verb_modules()}
    covered = {next((a for a in c["argv"] if not a.startswith("-")), None) for c in CASES}
    assert verbs <= covered, f"verbs without bad-input cases: {sorted(verbs - covered)}"


@pytest.mark.parametrize("debug", [False, True])
def test_internal_error_is_one_line_unless_debug(debug, monkeypatch, capsys):
    """A bug (any exception that is not a user error) exits 1 with one line and the hint to rerun with
    --debug; with --debug the traceback is shown."""
    from ilforge.cli import main
    from ilforge.cli import species

    def boom(args):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(species, "run", boom)
    rc = main((["--debug"] if debug else []) + ["species"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "internal error: ZeroDivisionError: float division by zero" in err
    assert ("Traceback" in err) == debug
    assert ("rerun with --debug" in err) != debug


def test_user_error_exit_codes(monkeypatch, capsys):
    """An IlforgeError subclass carries its exit code; mapped library errors are input errors (2)."""
    import sqlite3

    from ilforge.cli import main
    from ilforge.cli import species
    from ilforge.errors import EXIT_PARTIAL, IlforgeError

    class Partial(IlforgeError):
        exit_code = EXIT_PARTIAL

    for exc, code, text in ((Partial("3 of 10 frames failed"), 4, "error: 3 of 10 frames failed"),
                            (sqlite3.DatabaseError("file is not a database"), 2, "frames.db"),
                            (PermissionError(13, "Permission denied", "/x/y"), 2, "/x/y: Permission denied"),
                            (b"\xff".decode("utf-8", "strict") if False else UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, "not UTF-8")):
        monkeypatch.setattr(species, "run", lambda args, exc=exc: (_ for _ in ()).throw(exc))
        assert main(["species"]) == code
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err
