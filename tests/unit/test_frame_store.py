"""Frame store: idempotent adds by content hash, label status, transactions, extxyz round trip."""

import numpy as np
import pytest
from ase.build import molecule
from ase.io import read

from ilforge import keys
from ilforge.labels import Labels
from ilforge.store.frames import DONE, FAILED, PENDING, FrameStore, StoreError
from ilforge.store.hashing import frame_hash


def _water(shift=0.0):
    a = molecule("H2O")
    a.center(vacuum=3.0)
    a.pbc = True
    a.positions[0, 0] += shift
    a.arrays[keys.MOL_ID] = np.zeros(3, dtype=int)
    a.arrays[keys.MOL_SPECIES] = np.array(["H2O"] * 3)
    return a


def _labels(a, e=-1.5):
    return Labels(e, np.arange(3 * len(a), dtype=float).reshape(-1, 3), np.arange(6, dtype=float))


def test_hash_depends_on_structure_only():
    a, b = _water(), _water()
    b.info["whatever"] = 1
    assert frame_hash(a) == frame_hash(b)
    assert frame_hash(a) != frame_hash(_water(1e-3))
    c = _water()
    c.pbc = False
    assert frame_hash(a) != frame_hash(c)


def test_add_is_idempotent_and_keeps_metadata(tmp_path):
    store = FrameStore.open(tmp_path / "frames.db")
    h1 = store.add(_water(), config_type="box", composition_id="neat", temperature_K=300.0, source="test")
    h2 = store.add(_water(), config_type="other")
    assert h1 == h2 and len(store) == 1
    a = store.get(h1)
    assert store.get(store.add(_water(0.3), composition_id="x")).info == {
        keys.COMPOSITION_ID: "x", keys.FRAME_HASH: frame_hash(_water(0.3))}
    w = _water(0.4)
    w.info.update({"count_EMIM": np.int64(4), "seed": np.int32(1), "names": np.array(["a", "b"]), "v": np.ones(2)})
    got = store.get(store.add(w)).info
    assert got["count_EMIM"] == 4 and got["names"] == ["a", "b"] and np.allclose(got["v"], 1.0)
    assert a.info[keys.CONFIG_TYPE] == "box" and a.info[keys.TEMPERATURE_K] == 300.0
    assert list(a.arrays[keys.MOL_SPECIES]) == ["H2O"] * 3
    assert a.arrays[keys.MOL_ID].dtype.kind == "i"
    child = store.add(_water(0.1), config_type="rattle", composition_id="neat", parent=h1)
    assert store.get(child).info[keys.PARENT_HASH] == h1
    assert [f.info[keys.FRAME_HASH] for f in store.frames(config_type="rattle")] == [child]


def test_label_status_flow(tmp_path):
    store = FrameStore.open(tmp_path / "frames.db")
    hs = store.add_many([_water(0.01 * i) for i in range(3)], composition_id="neat", config_type="rattle")
    lot = "test:lot"
    assert store.request(hs, lot) == 3
    assert store.request(hs, lot) == 0
    assert store.status_counts(lot) == {PENDING: 3, DONE: 0, FAILED: 0}
    store.record_done(hs[0], lot, _labels(store.get(hs[0])), seconds=1.0)
    rec = store.record_failure(hs[1], lot, "SCF not converged", retryable=True)
    assert rec.attempts == 1 and rec.status == FAILED
    store.record_failure(hs[2], lot, "bad geometry", retryable=False)
    assert [r.frame_hash for r in store.todo(lot, max_attempts=3)] == [hs[1]]
    store.record_failure(hs[1], lot, "SCF not converged again")
    store.record_failure(hs[1], lot, "SCF not converged again")
    assert store.todo(lot, max_attempts=3) == []
    assert store.label_record(hs[1], lot).reason == "SCF not converged again"
    # a second result for a done frame is ignored
    store.record_done(hs[0], lot, _labels(store.get(hs[0]), e=99.0))
    (f,) = store.labelled_frames(lot)
    assert f.info[keys.REF_ENERGY] == -1.5 and f.info[keys.LEVEL_OF_THEORY] == lot
    assert f.arrays[keys.REF_FORCES].shape == (3, 3) and f.info[keys.REF_STRESS].shape == (6,)
    assert store.label_record(hs[0], lot).attempts == 1
    assert store.labelled_frames("other:lot") == []
    assert store.reset_failed(lot) == 2 and len(store.todo(lot, 3)) == 2
    assert store.levels_of_theory() == [lot]


def test_transaction_rolls_back(tmp_path):
    store = FrameStore.open(tmp_path / "frames.db")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add(_water())
            store.add(_water(0.2))
            raise RuntimeError("killed mid-write")
    assert len(store) == 0


def test_extxyz_round_trip_with_mace_keys(tmp_path):
    store = FrameStore.open(tmp_path / "frames.db")
    lot = "test:lot"
    a = _water()
    store.add_labelled(a, _labels(a), lot, config_type="box", composition_id="neat", temperature_K=300.0)
    store.set_isolated_energy(lot, molecule("H2O")[:1], "O", -10.0, 0, 3)
    store.set_isolated_energy(lot, molecule("H2O")[1:2], "H", -0.5, 0, 2)
    assert store.isolated_energies(lot) == {"O": -10.0, "H": -0.5}
    n = store.export_extxyz(tmp_path / "out.extxyz", lot)
    assert n == 3
    frames = read(tmp_path / "out.extxyz", index=":")
    assert [f.info[keys.CONFIG_TYPE] for f in frames] == ["IsolatedAtom", "IsolatedAtom", "box"]
    assert frames[2].info["REF_energy"] == -1.5
    np.testing.assert_allclose(frames[2].arrays["REF_forces"], _labels(a).forces)
    other = FrameStore.open(tmp_path / "other.db")
    hs = other.import_extxyz(tmp_path / "out.extxyz")
    assert hs == [frame_hash(a)]
    assert other.isolated_energies(lot) == {"O": -10.0, "H": -0.5}
    (g,) = other.labelled_frames(lot)
    assert g.info[keys.REF_ENERGY] == -1.5 and g.info[keys.COMPOSITION_ID] == "neat"
    np.testing.assert_allclose(g.info[keys.REF_STRESS], np.arange(6.0))
    assert list(g.arrays[keys.MOL_SPECIES]) == ["H2O"] * 3
    # importing the same file again changes nothing
    other.import_extxyz(tmp_path / "out.extxyz")
    assert len(other) == 1 and len(other.label_records(lot)) == 1


def test_import_without_level_of_theory_is_refused(tmp_path):
    from ase.io import write

    a = _water()
    a.info[keys.REF_ENERGY] = 1.0
    a.arrays[keys.REF_FORCES] = np.zeros((3, 3))
    write(tmp_path / "x.extxyz", a)
    with pytest.raises(StoreError, match="level of theory"):
        FrameStore.open(tmp_path / "f.db").import_extxyz(tmp_path / "x.extxyz")
