"""The one frame hash: byte-identical to the store's and the model artifact's earlier hashes (pinned)."""

import numpy as np
from ase.build import molecule

from ilforge import keys
from ilforge.store.hashing import frame_hash

# computed with the earlier store.frames.frame_hash and models.artifact.frame_hash
STRUCTURE = "57c3ddbd8e9094b47e5f4104409b0181"
UNLABELLED = "e0409d7d13966e140e7cf6d4782ed0ef848a95c9419a3120ed84428594977ed5"
LABELLED = "43cc715b5dc30c93b7e312b9d682b99768edef837824b28298779f4cbf0e5a3e"


def _water():
    a = molecule("H2O")
    a.center(vacuum=3.0)
    a.pbc = True
    return a


def test_hashes_are_pinned():
    a = _water()
    assert frame_hash(a) == STRUCTURE
    assert frame_hash(a, with_labels=True) == UNLABELLED
    a.info[keys.REF_ENERGY] = -1.25
    a.info[keys.REF_STRESS] = np.arange(6.0) / 7
    a.arrays[keys.REF_FORCES] = np.arange(9.0).reshape(3, 3) / 3
    assert frame_hash(a) == STRUCTURE  # labels do not enter the structure hash
    assert frame_hash(a, with_labels=True) == LABELLED


def test_structure_hash_survives_extxyz_precision_but_not_a_real_move():
    a, b = _water(), _water()
    b.positions += 3e-9  # below the 1e-6 Å rounding (extxyz writes 8 decimals)
    assert frame_hash(a) == frame_hash(b)
    b.positions[0, 0] += 1e-5
    assert frame_hash(a) != frame_hash(b)


def test_labelled_hash_sees_every_label():
    a = _water()
    a.info[keys.REF_ENERGY] = -1.0
    a.arrays[keys.REF_FORCES] = np.zeros((3, 3))
    h = frame_hash(a, with_labels=True)
    b = a.copy()
    b.info[keys.REF_ENERGY] = -1.0 + 1e-6
    c = a.copy()
    c.arrays[keys.REF_FORCES] = np.full((3, 3), 1e-6)
    assert len({h, frame_hash(b, with_labels=True), frame_hash(c, with_labels=True)}) == 3
