"""The frame store: every frame of a project, its metadata and its labels per level of theory.

Backed by an ASE database (:mod:`ase.db`): a SQLite file by default (``<workdir>/frames.db``) or
any URL that ``ase.db.connect`` accepts (``postgresql://user:pw@host/db`` for shared use). Rows
are of three kinds (key ``kind``):

``frame``
    The structure (numbers, positions Å, cell Å, pbc) with key-value pairs ``frame_hash``,
    ``config_type``, ``composition_id``, ``temperature_K``, ``source``, ``parent_hash``;
    per-atom arrays (``mol_id``, ``mol_species``, ...) and any other ``Atoms.info`` live in the
    row's ``data``. A frame is identified by its content hash (:func:`ilforge.store.hashing.frame_hash`), so adding the
    same structure twice is a no-op.
``label``
    One per (frame, level of theory): ``frame_hash``, ``lot`` (the level-of-theory string),
    ``status`` (``pending`` | ``done`` | ``failed``), ``attempts`` (recorded tries), ``reason``
    (the last error), ``retryable`` (0/1), ``seconds`` (wall time of the labelling); the labels
    themselves in ``data``: energy (eV), forces ((n, 3) eV/Å), stress ((6,) Voigt eV/Å³ or absent).
``isolated``
    Energy (eV) of an isolated atom or ion at a level of theory, with its charge and spin
    multiplicity (see :mod:`ilforge.reference.isolated`).

Every multi-row write runs in one database transaction (:meth:`FrameStore.transaction`): a
process killed mid-write leaves either all or none of it. Labels of different levels of theory
are kept apart; :meth:`labelled_frames` returns one level at a time unless asked otherwise.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.labels import Labels
from ilforge.store.hashing import frame_hash

log = logging.getLogger(__name__)

PENDING, DONE, FAILED = "pending", "done", "failed"
#: task of a plain label row; other tasks (strategy jobs on a parent frame) are "<kind>:<json params>"
SINGLE_POINT = "single_point"

_META_KEYS = (keys.CONFIG_TYPE, keys.COMPOSITION_ID, keys.TEMPERATURE_K, keys.SOURCE, keys.PARENT_HASH)
_LABEL_INFO = (keys.REF_ENERGY, keys.REF_STRESS, keys.REF_VIRIALS, keys.LEVEL_OF_THEORY, keys.FRAME_HASH)
_LABEL_ARRAYS = (keys.REF_FORCES,)
_ASE_ARRAYS = ("numbers", "positions", "momenta", "masses", "initial_magmoms", "initial_charges", "tags")


class StoreError(IlforgeError):
    """The frame store cannot be opened or holds something unexpected."""


def _plain(v):
    """Info values in a form ase.db's encoder takes: numpy scalars -> Python, string arrays -> lists."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist() if v.dtype.kind in "USO" else v
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite(path: Path) -> None:
    """Refuse a store file that is not an intact SQLite database (wrong header, truncated or
    damaged pages: SQLite's ``PRAGMA quick_check``), naming the file and what to do."""
    import sqlite3

    if not path.is_file() or path.stat().st_size == 0:
        return
    fix = (f"restore it from a backup, or move it away (mv {path} {path}.bad) and rerun `ilforge sample` and "
           f"`ilforge label` to rebuild it")
    with open(path, "rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise StoreError(f"frame store {path} is not an SQLite database (corrupt or another file); {fix}")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"frame store {path} is corrupt or truncated ({exc}); {fix}") from None
    if not result or result[0] != "ok":
        raise StoreError(f"frame store {path} is damaged (SQLite: {result[0] if result else 'no answer'}); {fix}")


@dataclass
class LabelRecord:
    """Status of one frame at one level of theory."""

    frame_hash: str
    level_of_theory: str
    status: str
    attempts: int
    reason: str
    retryable: bool
    row_id: int
    task: str = SINGLE_POINT


class FrameStore:
    """Frames, their metadata and their labels per level of theory, in an ASE database.

    Open with :meth:`open`; see the module docstring for the row layout.
    """

    def __init__(self, db, url: str):
        self._db = db
        self.url = url
        self._in_transaction = False

    # --- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path_or_url: str | Path) -> "FrameStore":
        """Open (creating if needed) the store at a file path (SQLite; ``.db``) or an ase.db URL."""
        import ase.db

        url = str(path_or_url)
        if "://" not in url:
            p = Path(url)
            if p.is_dir():
                raise StoreError(f"{url} is a directory; give the store file (a .db path inside it)")
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.suffix != ".db":
                raise StoreError(f"frame store file {url!r} must end in .db (SQLite), or be an ase.db URL")
            _check_sqlite(p)
            db = ase.db.connect(url, type="db")
        else:
            db = ase.db.connect(url)
        return cls(db, url)

    @contextlib.contextmanager
    def transaction(self):
        """All writes inside happen together or not at all (SQLite/PostgreSQL transaction). Reentrant."""
        if self._in_transaction or not hasattr(self._db, "__enter__"):
            yield self
            return
        self._in_transaction = True
        try:
            with self._db:
                yield self
        finally:
            self._in_transaction = False

    # --- frames --------------------------------------------------------------------------
    def _frame_row(self, h: str):
        rows = list(self._db.select(kind="frame", frame_hash=h, limit=1))
        return rows[0] if rows else None

    def __contains__(self, h: str) -> bool:
        return self._db.count(kind="frame", frame_hash=h) > 0

    def __len__(self) -> int:
        return self._db.count(kind="frame")

    def add(
        self,
        atoms: Atoms,
        config_type: str | None = None,
        composition_id: str | None = None,
        temperature_K: float | None = None,
        source: str | None = None,
        parent: str | None = None,
    ) -> str:
        """Add a frame (idempotent) and return its content hash.

        Metadata not given is taken from ``atoms.info`` (``config_type``, ``composition_id``,
        ``temperature_K``, ``source``, ``parent_hash``). Labels in ``atoms`` are not stored here
        (see :meth:`add_labelled` and :meth:`import_extxyz`).
        """
        h = frame_hash(atoms)
        if h in self:
            return h
        info = atoms.info
        meta = {
            keys.CONFIG_TYPE: config_type if config_type is not None else info.get(keys.CONFIG_TYPE),
            keys.COMPOSITION_ID: composition_id if composition_id is not None else info.get(keys.COMPOSITION_ID),
            keys.TEMPERATURE_K: temperature_K if temperature_K is not None else info.get(keys.TEMPERATURE_K),
            keys.SOURCE: source if source is not None else info.get(keys.SOURCE),
            keys.PARENT_HASH: parent if parent is not None else info.get(keys.PARENT_HASH),
        }
        kvp = {"kind": "frame", keys.FRAME_HASH: h}
        for k, v in meta.items():
            if v is None:
                continue
            kvp[k] = float(v) if k == keys.TEMPERATURE_K else str(v)
        arrays, str_arrays = {}, {}
        for k, v in atoms.arrays.items():
            if k in _ASE_ARRAYS or k in _LABEL_ARRAYS:
                continue
            v = np.asarray(v)
            if v.dtype.kind in "USO":  # ase.db's binary encoding holds numeric arrays only
                str_arrays[k] = [str(x) for x in v.tolist()]
            else:
                arrays[k] = v
        extra = {
            k: _plain(v) for k, v in info.items() if k not in _META_KEYS and k not in _LABEL_INFO and k != "kind"
        }
        plain = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        with self.transaction():
            if h in self:  # re-check inside the transaction
                return h
            self._db.write(plain, key_value_pairs=kvp, data={"arrays": arrays, "str_arrays": str_arrays, "info": extra})
        return h

    def add_many(self, frames: Iterable[Atoms], **meta) -> list[str]:
        """Add several frames in one transaction (``meta`` as for :meth:`add`); returns their hashes."""
        with self.transaction():
            return [self.add(a, **meta) for a in frames]

    def _atoms_from_row(self, row) -> Atoms:
        atoms = Atoms(row.numbers, positions=row.positions, cell=row.cell, pbc=row.pbc)
        data = row.get("data", {}) or {}
        for k, v in (data.get("arrays") or {}).items():
            atoms.arrays[k] = np.asarray(v)
        for k, v in (data.get("str_arrays") or {}).items():
            atoms.arrays[k] = np.array(v, dtype=str)
        atoms.info.update(data.get("info") or {})
        kvp = row.key_value_pairs
        for k in _META_KEYS:
            if k in kvp:
                atoms.info[k] = kvp[k]
        atoms.info[keys.FRAME_HASH] = kvp[keys.FRAME_HASH]
        return atoms

    def get(self, h: str) -> Atoms:
        """The frame with content hash ``h`` (metadata in ``info``, no labels)."""
        row = self._frame_row(h)
        if row is None:
            raise StoreError(f"no frame with hash {h} in {self.url}")
        return self._atoms_from_row(row)

    def frames(self, composition_id: str | None = None, config_type: str | None = None) -> list[Atoms]:
        """Every frame (in insertion order), optionally of one composition and/or config type."""
        sel = {"kind": "frame"}
        if composition_id is not None:
            sel[keys.COMPOSITION_ID] = composition_id
        if config_type is not None:
            sel[keys.CONFIG_TYPE] = config_type
        return [self._atoms_from_row(r) for r in self._db.select(sort="id", **sel)]

    # --- labels --------------------------------------------------------------------------
    def _label_rows(self, lot: str | None = None, **sel):
        q = {"kind": "label", **sel}
        if lot is not None:
            q["lot"] = lot
        return list(self._db.select(sort="id", **q))

    @staticmethod
    def _record(row) -> LabelRecord:
        kvp = row.key_value_pairs
        return LabelRecord(
            frame_hash=kvp[keys.FRAME_HASH],
            level_of_theory=kvp["lot"],
            status=kvp["status"],
            attempts=int(kvp.get("attempts", 0)),
            reason=kvp.get("reason", ""),
            retryable=bool(kvp.get("retryable", 1)),
            row_id=row.id,
            task=kvp.get("task", SINGLE_POINT),
        )

    def label_record(self, h: str, level_of_theory: str, task: str = SINGLE_POINT) -> LabelRecord | None:
        """Status of frame ``h`` at ``level_of_theory`` (and task), or None when it was never requested."""
        rows = self._label_rows(level_of_theory, frame_hash=h, task=task)
        if len(rows) > 1:
            raise StoreError(f"frame {h} has {len(rows)} label rows at {level_of_theory!r}; the store is corrupt")
        return self._record(rows[0]) if rows else None

    def label_records(self, level_of_theory: str, task: str | None = SINGLE_POINT) -> list[LabelRecord]:
        """Every label record at ``level_of_theory`` (insertion order) of ``task`` (None: every task)."""
        sel = {} if task is None else {"task": task}
        return [self._record(r) for r in self._label_rows(level_of_theory, **sel)]

    def request(self, hashes: Iterable[str], level_of_theory: str, task: str = SINGLE_POINT) -> int:
        """Mark frames as to be labelled at ``level_of_theory`` (status pending); returns how many
        were new. Frames already requested (pending, done or failed) are left as they are.
        ``task`` other than single_point requests a strategy job (reference MD, relaxation) on the frame."""
        if not level_of_theory:
            raise StoreError("a level of theory is needed to request labels")
        hashes = list(hashes)
        if len(hashes) > 20:  # one query for many, one small query each for a few
            have = {r.frame_hash for r in self.label_records(level_of_theory, task)}
        else:
            have = {h for h in hashes
                    if self._db.count(kind="label", lot=level_of_theory, task=task, frame_hash=h) > 0}
        n = 0
        with self.transaction():
            for h in hashes:
                if h in have:
                    continue
                if h not in self:
                    raise StoreError(f"cannot request labels for frame {h}: it is not in the store")
                self._db.write(
                    Atoms(),
                    key_value_pairs={
                        "kind": "label", keys.FRAME_HASH: h, "lot": level_of_theory,
                        "status": PENDING, "attempts": 0, "reason": "", "retryable": 1, "task": task,
                    },
                )
                have.add(h)
                n += 1
        return n

    def todo(self, level_of_theory: str, max_attempts: int, task: str | None = None) -> list[LabelRecord]:
        """Records still to label (every task unless given): pending, or failed with a retryable
        error and fewer than ``max_attempts`` attempts."""
        out = []
        for r in self.label_records(level_of_theory, task):
            if r.status == PENDING or (r.status == FAILED and r.retryable and r.attempts < max_attempts):
                out.append(r)
        return out

    def status_counts(self, level_of_theory: str, task: str | None = SINGLE_POINT) -> dict[str, int]:
        """Number of label records per status at ``level_of_theory`` (single points unless ``task``)."""
        counts = {PENDING: 0, DONE: 0, FAILED: 0}
        for r in self.label_records(level_of_theory, task):
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def record_done(self, h: str, level_of_theory: str, labels, seconds: float | None = None, row_id: int | None = None):
        """Store the labels (:class:`ilforge.labels.Labels`) of frame ``h`` (status done).

        A frame already done at this level keeps its first labels (a second result is ignored and
        logged), so a frame is never labelled twice.
        """
        data = {"energy": float(labels.energy), "forces": np.asarray(labels.forces, dtype=float)}
        if labels.stress is not None:
            data["stress"] = np.asarray(labels.stress, dtype=float)
        with self.transaction():
            rec = self._fresh_record(h, level_of_theory, row_id, SINGLE_POINT)
            if rec.status == DONE:
                log.warning("frame %s is already labelled at %s; keeping the first labels", h, level_of_theory)
                return
            self._db.update(
                rec.row_id, data=data, status=DONE, attempts=rec.attempts + 1, reason="",
                seconds=float(seconds) if seconds is not None else 0.0,
            )

    def record_job_done(self, h: str, level_of_theory: str, task: str, results, seconds: float | None = None,
                        row_id: int | None = None, config_meta: dict | None = None) -> list[str]:
        """Store the labelled frames ``results`` (list of (Atoms, Labels)) of a strategy job on
        parent ``h`` and mark the job done, in one transaction; returns the new frames' hashes."""
        with self.transaction():
            rec = self._fresh_record(h, level_of_theory, row_id, task)
            if rec.status == DONE:
                return []
            hashes = [
                self.add_labelled(a, lab, level_of_theory, parent=h, **(config_meta or {})) for a, lab in results
            ]
            self._db.update(rec.row_id, data={"children": hashes}, status=DONE, attempts=rec.attempts + 1,
                            reason="", seconds=float(seconds) if seconds is not None else 0.0)
        return hashes

    def record_failure(self, h: str, level_of_theory: str, reason: str, retryable: bool = True,
                       row_id: int | None = None, task: str = SINGLE_POINT) -> LabelRecord:
        """Record a failed attempt (status failed, attempts + 1, the reason); returns the new record."""
        with self.transaction():
            rec = self._fresh_record(h, level_of_theory, row_id, task)
            if rec.status == DONE:
                return rec
            reason = " ".join(str(reason).split())[:2000] or "unknown error"
            self._db.update(rec.row_id, status=FAILED, attempts=rec.attempts + 1, reason=reason,
                            retryable=int(bool(retryable)))
            rec.status, rec.attempts, rec.reason, rec.retryable = FAILED, rec.attempts + 1, reason, bool(retryable)
            return rec

    def reset_failed(self, level_of_theory: str) -> int:
        """Make every failed frame at ``level_of_theory`` pending again with zero attempts; returns how many."""
        n = 0
        with self.transaction():
            for r in self.label_records(level_of_theory, task=None):
                if r.status == FAILED:
                    self._db.update(r.row_id, status=PENDING, attempts=0, reason="", retryable=1)
                    n += 1
        return n

    def _fresh_record(self, h: str, lot: str, row_id: int | None, task: str) -> LabelRecord:
        if row_id is not None:
            row = self._db.get(id=row_id)
            rec = self._record(row)
            if rec.frame_hash == h and rec.level_of_theory == lot and rec.task == task:
                return rec
        rec = self.label_record(h, lot, task)
        if rec is None:
            self.request([h], lot, task)
            rec = self.label_record(h, lot, task)
        return rec

    def add_labelled(self, atoms: Atoms, labels, level_of_theory: str, seconds: float | None = None, **meta) -> str:
        """Add a frame and its labels at ``level_of_theory`` in one transaction (reference MD, relaxations)."""
        with self.transaction():
            h = self.add(atoms, **meta)
            self.request([h], level_of_theory)
            self.record_done(h, level_of_theory, labels, seconds=seconds)
        return h

    def labels(self, h: str, level_of_theory: str) -> dict | None:
        """Energy, forces, stress of frame ``h`` at ``level_of_theory`` (a dict), or None if not done."""
        rows = self._label_rows(level_of_theory, frame_hash=h, status=DONE, task=SINGLE_POINT)
        return dict(rows[0].data) if rows else None

    def labelled_frames(
        self,
        level_of_theory: str | None = None,
        composition_id: str | None = None,
        config_type: str | None = None,
    ) -> list[Atoms]:
        """Labelled frames in insertion order, as Atoms with the label keys of :mod:`ilforge.keys`.

        info: ``REF_energy`` (eV), ``REF_stress`` ((6,) Voigt eV/Å³, when present),
        ``config_type``, ``composition_id``, ``level_of_theory``, ``temperature_K``, ``frame_hash``;
        arrays: ``REF_forces`` ((n, 3) eV/Å), ``mol_id``, ``mol_species``. With
        ``level_of_theory=None`` every level is returned (a frame once per level): check
        ``info['level_of_theory']`` and never train on a mixture.
        """
        out = []
        for row in self._label_rows(level_of_theory, status=DONE, task=SINGLE_POINT):
            h = row.key_value_pairs[keys.FRAME_HASH]
            frow = self._frame_row(h)
            if frow is None:
                raise StoreError(f"label row {row.id} refers to frame {h}, which is not in the store")
            kvp = frow.key_value_pairs
            if composition_id is not None and kvp.get(keys.COMPOSITION_ID) != composition_id:
                continue
            if config_type is not None and kvp.get(keys.CONFIG_TYPE) != config_type:
                continue
            atoms = self._atoms_from_row(frow)
            data = row.data
            atoms.info[keys.REF_ENERGY] = float(data["energy"])
            atoms.arrays[keys.REF_FORCES] = np.asarray(data["forces"], dtype=float).reshape(len(atoms), 3)
            if "stress" in data:
                atoms.info[keys.REF_STRESS] = np.asarray(data["stress"], dtype=float)
            atoms.info[keys.LEVEL_OF_THEORY] = row.key_value_pairs["lot"]
            out.append(atoms)
        return out

    def levels_of_theory(self) -> list[str]:
        """Every level of theory with at least one label record or isolated energy (sorted)."""
        lots = {r.key_value_pairs["lot"] for r in self._db.select(kind="label")}
        lots |= {r.key_value_pairs["lot"] for r in self._db.select(kind="isolated")}
        return sorted(lots)

    # --- isolated atoms and ions -----------------------------------------------------------
    def set_isolated_energy(self, level_of_theory: str, atoms: Atoms, name: str, energy_eV: float,
                            charge: int, multiplicity: int, kind: str = "atom") -> None:
        """Store the energy (eV) of an isolated atom (``kind='atom'``, ``name`` = element symbol) or
        ion (``kind='ion'``, ``name`` = species name) with its charge and spin multiplicity."""
        if kind not in ("atom", "ion"):
            raise StoreError(f"isolated kind must be 'atom' or 'ion', got {kind!r}")
        with self.transaction():
            old = [r.id for r in self._db.select(kind="isolated", lot=level_of_theory, name=name)]
            if old:
                self._db.delete(old)
            plain = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
            self._db.write(
                plain,
                key_value_pairs={"kind": "isolated", "lot": level_of_theory, "name": name, "iso_kind": kind,
                                 "charge": int(charge), "multiplicity": int(multiplicity)},
                data={"energy": float(energy_eV)},
            )

    def _isolated_rows(self, level_of_theory: str, kind: str):
        return list(self._db.select(kind="isolated", lot=level_of_theory, iso_kind=kind, sort="id"))

    def isolated_energies(self, level_of_theory: str) -> dict[str, float]:
        """Element symbol -> energy (eV) of the isolated neutral atom at ``level_of_theory`` (E0s)."""
        return {r.key_value_pairs["name"]: float(r.data["energy"]) for r in self._isolated_rows(level_of_theory, "atom")}

    def isolated_ion_energies(self, level_of_theory: str) -> dict[str, float]:
        """Species name -> energy (eV) of the isolated ion (or molecule) at ``level_of_theory``."""
        return {r.key_value_pairs["name"]: float(r.data["energy"]) for r in self._isolated_rows(level_of_theory, "ion")}

    def isolated_atom_frames(self, level_of_theory: str) -> list[Atoms]:
        """``IsolatedAtom`` frames: one atom each, info ``REF_energy`` and ``config_type=IsolatedAtom``."""
        out = []
        for r in self._isolated_rows(level_of_theory, "atom"):
            a = Atoms(r.numbers, positions=np.zeros((1, 3)), pbc=False)
            a.info[keys.REF_ENERGY] = float(r.data["energy"])
            a.info[keys.CONFIG_TYPE] = keys.CT_ISOLATED_ATOM
            a.info[keys.LEVEL_OF_THEORY] = level_of_theory
            a.info["charge_e"] = int(r.key_value_pairs["charge"])
            a.info["spin_multiplicity"] = int(r.key_value_pairs["multiplicity"])
            a.arrays[keys.REF_FORCES] = np.zeros((1, 3))
            out.append(a)
        return out

    # --- extxyz ------------------------------------------------------------------------
    def export_extxyz(self, path: str | Path, level_of_theory: str, composition_id: str | None = None,
                      config_type: str | None = None, isolated_atoms: bool = True) -> int:
        """Write labelled frames at ``level_of_theory`` to extxyz with the label keys (``REF_energy``,
        ``REF_forces``, ``REF_stress``), preceded by the ``IsolatedAtom`` frames when asked and
        stored. Returns the number of frames written."""
        from ase.io import write

        frames = self.labelled_frames(level_of_theory, composition_id, config_type)
        if isolated_atoms:
            frames = self.isolated_atom_frames(level_of_theory) + frames
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write(str(path), frames, format="extxyz")
        return len(frames)

    def import_extxyz(self, path: str | Path, level_of_theory: str | None = None, **meta) -> list[str]:
        """Add every frame of an extxyz file (one transaction); returns their hashes.

        Labels (``REF_energy`` and ``REF_forces``, optional ``REF_stress``) are stored as done at
        ``level_of_theory`` or, when that is None, at the frame's ``info['level_of_theory']``;
        labelled frames without any level of theory are an error (labels of unknown origin must not
        mix with others). ``IsolatedAtom`` frames become isolated-atom energies. ``meta`` as for :meth:`add`.
        """
        from ase.io import read

        frames = read(str(path), index=":", format="extxyz")
        hashes = []
        with self.transaction():
            for i, a in enumerate(frames):
                lot = level_of_theory or a.info.get(keys.LEVEL_OF_THEORY)
                has_labels = keys.REF_ENERGY in a.info and keys.REF_FORCES in a.arrays
                if has_labels and not lot:
                    raise StoreError(
                        f"{path}: frame {i} has {keys.REF_ENERGY} but no level of theory; give level_of_theory= "
                        f"(CLI: --level-of-theory) or set info['{keys.LEVEL_OF_THEORY}'] in the file"
                    )
                if a.info.get(keys.CONFIG_TYPE) == keys.CT_ISOLATED_ATOM:
                    if not lot:
                        raise StoreError(f"{path}: IsolatedAtom frame {i} has no level of theory; give level_of_theory=")
                    if len(a) != 1 or keys.REF_ENERGY not in a.info:
                        raise StoreError(f"{path}: IsolatedAtom frame {i} must hold one atom and {keys.REF_ENERGY}")
                    self.set_isolated_energy(lot, a, a.get_chemical_symbols()[0], float(a.info[keys.REF_ENERGY]),
                                             int(a.info.get("charge_e", 0)), int(a.info.get("spin_multiplicity", 1)))
                    continue
                h = self.add(a, **meta)
                hashes.append(h)
                if has_labels:
                    labels = Labels(float(a.info[keys.REF_ENERGY]), a.arrays[keys.REF_FORCES], a.info.get(keys.REF_STRESS))
                    self.request([h], lot)
                    if self.label_record(h, lot).status != DONE:
                        self.record_done(h, lot, labels)
        return hashes
