"""The store's extxyz export is read by MACE's own loader with the same energies, forces, stress and E0s."""

import numpy as np
import pytest
from ase.build import molecule

from ilforge import keys
from ilforge.labels import Labels
from ilforge.store.frames import FrameStore


def test_mace_reads_export(tmp_path):
    mace_utils = pytest.importorskip("mace.data.utils")
    store = FrameStore.open(tmp_path / "frames.db")
    lot = "test:lot"
    a = molecule("H2O")
    a.cell = [5, 5, 5]
    a.pbc = True
    forces = np.arange(9.0).reshape(3, 3) / 10
    stress = np.array([0.1, 0.2, 0.3, 0.01, 0.02, 0.03])
    store.add_labelled(a, Labels(-14.5, forces, stress), lot, config_type="box", composition_id="c")
    store.set_isolated_energy(lot, a[:1], "O", -10.0, 0, 3)
    store.set_isolated_energy(lot, a[1:2], "H", -0.5, 0, 2)
    store.export_extxyz(tmp_path / "train.extxyz", lot)
    ks = mace_utils.KeySpecification(info_keys={"energy": keys.REF_ENERGY, "stress": keys.REF_STRESS, "head": "head"},
                                     arrays_keys={"forces": keys.REF_FORCES})
    e0, configs = mace_utils.load_from_xyz(str(tmp_path / "train.extxyz"), ks, extract_atomic_energies=True)
    assert e0 == {8: -10.0, 1: -0.5}
    (c,) = configs
    assert c.properties["energy"] == -14.5 and c.config_type == "box"
    np.testing.assert_allclose(c.properties["forces"], forces)
    np.testing.assert_allclose(np.ravel(c.properties["stress"])[:6] if np.size(c.properties["stress"]) == 6
                               else np.asarray(c.properties["stress"])[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]], stress)
