"""Error metrics on hand-made predictions with exact answers."""

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.models.metrics import compute_metrics


def make(symbols, e_ref, comp, t=300.0):
    a = Atoms(symbols, positions=np.zeros((len(Atoms(symbols)), 3)), cell=[5, 5, 5], pbc=True)
    a.info.update({keys.REF_ENERGY: e_ref, keys.COMPOSITION_ID: comp, keys.TEMPERATURE_K: t, keys.CONFIG_TYPE: "rattle"})
    a.info[keys.REF_STRESS] = np.zeros(6)
    a.arrays[keys.REF_FORCES] = np.zeros((len(a), 3))
    return a


def test_energy_force_stress_errors_exact():
    f1, f2 = make("CuAu", -1.0, "a"), make("Cu3", -2.0, "b")
    p1 = {"energy": -1.0 + 0.02, "forces": np.array([[0.003, 0, 0], [0, 0, 0]]), "stress": np.full(6, 0.001)}
    p2 = {"energy": -2.0 - 0.06, "forces": np.zeros((3, 3)), "stress": np.array([[0.002, 0, 0], [0, 0, 0], [0, 0, 0]])}
    m = compute_metrics([f1, f2], [p1, p2])
    o = m["overall"]
    # per-atom energy errors: +10 meV/atom and -20 meV/atom
    assert o["energy_mae_meV_atom"] == pytest.approx(15.0)
    assert o["energy_rmse_meV_atom"] == pytest.approx(np.sqrt((100 + 400) / 2))
    # one non-zero force component of 3 meV/Å among 15 components
    assert o["forces_mae_meV_A"] == pytest.approx(3.0 / 15)
    assert o["forces_rmse_meV_A"] == pytest.approx(np.sqrt(9.0 / 15))
    assert o["forces_by_element"]["Au"]["mae_meV_A"] == 0.0
    assert o["forces_by_element"]["Cu"]["mae_meV_A"] == pytest.approx(3.0 / 12)
    assert o["stress_mae_meV_A3"] == pytest.approx((6 * 1.0 + 2.0) / 12)
    assert m["by_composition_id"]["a"]["energy_mae_meV_atom"] == pytest.approx(10.0)
    assert m["by_composition_id"]["b"]["energy_mae_meV_atom"] == pytest.approx(20.0)
    assert list(m["by_temperature_K"]) == ["300.0"] and list(m["by_config_type"]) == ["rattle"]
