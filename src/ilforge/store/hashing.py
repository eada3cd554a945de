"""Content hashes of frames: the one ``frame_hash``.

Two hashes, kept byte-identical to what earlier versions wrote so existing ``frames.db`` files and
``model.json`` data hashes keep their values:

- ``with_labels=False`` (the frame store's identity of a structure): SHA-256 of the atomic numbers
  (int64), the positions and the cell in Å rounded to :data:`HASH_DECIMALS` decimals (as int64
  multiples of 10⁻⁶ Å, so a frame written to extxyz with 8 decimals and read back hashes the
  same) and pbc (int8); the first 32 hex digits. Labels and metadata do not enter.
- ``with_labels=True`` (the training-data hash of a model): SHA-256 of the numbers (int64), then
  positions, cell and pbc as float64 rounded to 8 decimals, then ``REF_energy``, ``REF_stress``
  (info) and ``REF_forces`` (arrays) rounded to 8 decimals when present; all 64 hex digits.
"""

from __future__ import annotations

import hashlib

import numpy as np
from ase import Atoms

from ilforge import keys

#: positions and cell are rounded to this many decimals (Å) before the structure hash
HASH_DECIMALS = 6
#: decimals of every float in the labelled-frame hash
LABELLED_HASH_DECIMALS = 8


def frame_hash(atoms: Atoms, with_labels: bool = False) -> str:
    """Content hash of ``atoms`` (see the module docstring): the structure only (32 hex digits), or
    with ``with_labels`` the structure and its reference labels (64 hex digits)."""
    return _labelled_hash(atoms) if with_labels else _structure_hash(atoms)


def _structure_hash(atoms: Atoms) -> str:
    scale = 10.0**HASH_DECIMALS
    h = hashlib.sha256()
    h.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    h.update(np.round(np.asarray(atoms.positions, dtype=float) * scale).astype(np.int64).tobytes())
    h.update(np.round(np.asarray(atoms.cell[:], dtype=float) * scale).astype(np.int64).tobytes())
    h.update(np.asarray(atoms.pbc, dtype=np.int8).tobytes())
    return h.hexdigest()[:32]


def _labelled_hash(atoms: Atoms) -> str:
    d = LABELLED_HASH_DECIMALS
    h = hashlib.sha256()
    h.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    for arr in (atoms.positions, np.asarray(atoms.cell), atoms.pbc.astype(float)):
        h.update(np.round(np.asarray(arr, dtype=float), d).tobytes())
    for key in (keys.REF_ENERGY, keys.REF_STRESS):
        if key in atoms.info:
            h.update(np.round(np.asarray(atoms.info[key], dtype=float), d).tobytes())
    if keys.REF_FORCES in atoms.arrays:
        h.update(np.round(atoms.arrays[keys.REF_FORCES], d).tobytes())
    return h.hexdigest()
