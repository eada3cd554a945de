"""Stress is in the loss by default when every training frame carries a stress label (issue 15)."""

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.models import training
from ilforge.models.data import LabelledData
from ilforge.models.mace_settings import MaceSettings
from ilforge.models.settings import DEFAULT_STRESS_WEIGHT


def _frames(n, stress=True):
    out = []
    for i in range(n):
        a = Atoms("H2", positions=[[0, 0, 0], [0.74 + 0.01 * i, 0, 0]], cell=[5, 5, 5], pbc=True)
        a.info[keys.REF_ENERGY] = -1.0 - 0.01 * i
        a.arrays[keys.REF_FORCES] = np.zeros((2, 3))
        if stress:
            a.info[keys.REF_STRESS] = np.zeros(6)
        a.info[keys.COMPOSITION_ID] = "c"
        out.append(a)
    return out


def test_resolution_rule():
    s = MaceSettings()
    assert s.stress_weight is None
    assert s.with_stress_weight(True).stress_weight == DEFAULT_STRESS_WEIGHT
    assert s.with_stress_weight(False).stress_weight == 0.0
    assert MaceSettings(stress_weight=0.0).with_stress_weight(True).stress_weight == 0.0
    assert MaceSettings(stress_weight=3.0).with_stress_weight(False).stress_weight == 3.0


def _captured_weight(monkeypatch, tmp_path, frames):
    seen = []

    def fake_run(tasks, progress=None, workers=1):
        seen.extend(t.settings.stress_weight for t in tasks)
        return []

    monkeypatch.setattr(training, "run_training_tasks", fake_run)
    monkeypatch.setattr(training, "_replace_test_frames", lambda *a, **k: None)
    data = LabelledData(frames=frames, level_of_theory="x", isolated_energies={"H": 0.0})
    training.train_model(MaceSettings(valid_fraction=0.2, test_fraction=0.2), data, tmp_path)
    return seen


def test_train_model_trains_stress_when_labels_have_it(monkeypatch, tmp_path):
    assert _captured_weight(monkeypatch, tmp_path, _frames(10)) == [DEFAULT_STRESS_WEIGHT]
    assert _captured_weight(monkeypatch, tmp_path / "b", _frames(10, stress=False)) == [0.0]
