"""Which frames get labelled: evenly spaced per composition, capped, stable across reruns; one run per workdir."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.project import Project
from ilforge.reference.labelling import select_frames
from ilforge.reference.settings import LabelSettings
from ilforge.store.frames import FrameStore


def _frame(i):
    return Atoms("Ar2", positions=[[0, 0, 0], [1.0 + 0.01 * i, 0, 0]], cell=[5, 5, 5], pbc=True)


def test_selection_is_even_capped_and_stable(tmp_path):
    store = FrameStore.open(tmp_path / "frames.db")
    ha = store.add_many([_frame(i) for i in range(10)], composition_id="a", config_type="classical_md")
    hb = store.add_many([_frame(100 + i) for i in range(4)], composition_id="b", config_type="box")
    s = LabelSettings(frames_per_composition=3)
    sel = select_frames(store, s, "lot")
    assert [f.info[keys.FRAME_HASH] for f in sel["a"]] == [ha[0], ha[4], ha[9]] or \
        [f.info[keys.FRAME_HASH] for f in sel["a"]] == [ha[0], ha[5], ha[9]]
    assert len(sel["b"]) == 3
    store.request([f.info[keys.FRAME_HASH] for v in sel.values() for f in v], "lot")
    # a larger cap adds new frames and keeps the requested ones
    sel5 = select_frames(store, LabelSettings(frames_per_composition=5), "lot")
    assert len(sel5["a"]) == 5 and {f.info[keys.FRAME_HASH] for f in sel["a"]} <= {f.info[keys.FRAME_HASH] for f in sel5["a"]}
    assert len(select_frames(store, LabelSettings(frames_per_composition=0), "lot")["a"]) == 10
    only = select_frames(store, LabelSettings(frames_per_composition=0, config_types=["box"]), "lot")
    assert list(only) == ["b"] and len(only["b"]) == 4
    assert np.all(np.isin(hb, [f.info[keys.FRAME_HASH] for f in only["b"]]))


def test_one_labelling_run_per_workdir(tmp_path):
    from ilforge.reference.stage import run_label

    import fcntl

    project = Project(tmp_path)
    project.root.mkdir(parents=True, exist_ok=True)
    # another process holding the lock: an flock on a separate open file description
    with open(project.lock_file("workdir"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(IlforgeError, match="another `ilforge label`"):
            run_label(project, None)  # refused before the recipe is looked at
    with project.lock("label", "ilforge label"):  # released
        pass
