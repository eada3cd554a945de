"""``ilforge sample`` killed between writing its frames and storing them (issue 16, atomicity): the rerun
stores the frames it wrote, does not sample again, and never adds a second set to the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("openmm")

from ase.io import read, write  # noqa: E402

from ilforge.project import Project  # noqa: E402
from ilforge.recipe import recipe_from_dict  # noqa: E402
from ilforge.sample import runner  # noqa: E402
from ilforge.sample.md import MDRunResult  # noqa: E402
from ilforge.store.frames import FrameStore  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "emim_bf4_4ip.extxyz"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def _recipe():
    return recipe_from_dict({
        "name": "resume", "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 4},
        "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
        "forcefield": {"type": "clandp", "cutoff_A": 4.5},
        "sampling": {"equilibration_ps": 0, "production_ps": 2, "interval_ps": 1},
    })


def _fake_md(box, system, info, *args, **kwargs):
    """Two 'snapshots' that differ from run to run (as OpenMM's CPU runs do)."""
    _fake_md.calls += 1
    frames = []
    for k in range(2):
        fr = box.copy()
        fr.positions[0, 0] += 0.01 * (k + 1) * _fake_md.calls
        frames.append(fr)
    return MDRunResult(frames=frames, times_ps=[1.0, 2.0], densities_g_cm3=[1.2, 1.2], potential_energies_eV=[0.0, 0.0])


def test_kill_between_frames_and_store_is_safe_on_rerun(tmp_path, monkeypatch):
    recipe, project = _recipe(), Project(tmp_path)
    project.box("neat", 298.15).parent.mkdir(parents=True, exist_ok=True)
    write(project.box("neat", 298.15), read(DATA, 0), format="extxyz")
    _fake_md.calls = 0
    monkeypatch.setattr(runner, "run_classical_md", _fake_md)

    def killed(*a, **k):
        raise Killed

    monkeypatch.setattr(runner, "store_frames", killed)
    with pytest.raises(Killed):
        runner.sample_recipe(recipe, project)
    meta = json.loads(project.sampled_summary("neat", 298.15).read_text())
    assert meta["stored"] is False and not project.frames_db.exists()

    monkeypatch.undo()
    monkeypatch.setattr(runner, "run_classical_md", _fake_md)
    for _ in range(2):  # the rerun finishes the interrupted run; one more changes nothing
        (summary,) = runner.sample_recipe(recipe, project)
        assert summary.skipped and _fake_md.calls == 1
    written = read(project.sampled("neat", 298.15), index=":")
    stored = FrameStore.open(project.frames_db).frames()
    assert len(stored) == len(written) == 2
    assert [a.positions[0, 0] for a in stored] == pytest.approx([a.positions[0, 0] for a in written])
    meta = json.loads(project.sampled_summary("neat", 298.15).read_text())
    assert meta["stored"] is True and meta["n_stored"] == 2
