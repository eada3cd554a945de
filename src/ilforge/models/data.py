"""Where training and validation get their frames: the frame store or an extxyz file (one place).

All access to the frame store (``ilforge.store.frames.FrameStore``, see store/README.md) goes
through this module, and so does the train/valid/test split, done per composition so that every
composition keeps test frames (needed by the transferability study), and hash-stable (a frame's
split is a function of its content hash, so frames added by later active-learning generations never
move a test frame into training).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.jsonio import write_extxyz_atomic
from ilforge.errors import IlforgeError
from ilforge.models.base import TrainingDataError, check_labelled, is_labelled, level_of_theory
from ilforge.models.e0s import is_isolated_atom
from ilforge.project import Project

log = logging.getLogger(__name__)


@dataclass
class LabelledData:
    """Labelled frames of one level of theory, and isolated-atom energies (element -> eV) at that level."""

    frames: list[Atoms]
    level_of_theory: str | None
    isolated_energies: dict[str, float] = field(default_factory=dict)


def read_frames_file(path: str | Path) -> list[Atoms]:
    import ase.io

    path = Path(path)
    if not path.is_file():
        raise IlforgeError(f"frames file {path} not found")
    try:
        frames = list(ase.io.read(path, index=":"))
    except Exception as exc:  # ase raises many kinds on empty, truncated or binary files
        raise IlforgeError(f"frames file {path} cannot be read as structures ({type(exc).__name__}: {exc}); "
                           "give an extended-XYZ file written by ASE or ilforge (`ilforge label` writes them)") from None
    if not frames:
        raise IlforgeError(f"frames file {path} holds no structures; give a non-empty extended-XYZ file")
    return frames


def write_frames(path: str | Path, frames: list[Atoms]) -> Path:
    """extxyz with labels only in info/arrays (no calculator results, which trainers would not read),
    written atomically (:func:`ilforge.jsonio.write_extxyz_atomic`)."""
    clean = []
    for a in frames:
        b = a.copy()
        b.calc = None
        clean.append(b)
    return write_extxyz_atomic(path, clean)


def _from_store(project: Project, level: str | None, composition_id: str | None) -> LabelledData:
    db = project.frames_db
    if not db.is_file():
        raise TrainingDataError(
            f"no frame store at {db}: run `ilforge sample` and `ilforge label` first, or give labelled frames "
            "as an extxyz file (`--frames FILE`)"
        )
    try:
        from ilforge.store.frames import FrameStore
    except ImportError as exc:  # the store lands with issue 4
        raise IlforgeError(f"the frame store is not available in this ilforge ({exc}); give `--frames FILE`") from exc
    store = FrameStore.open(db)
    levels = list(store.levels_of_theory())
    if level is None:
        if len(levels) > 1:
            raise TrainingDataError(
                f"the frame store holds labels from {len(levels)} levels of theory {levels}: they cannot be mixed in "
                "one model; choose one with `--level-of-theory`"
            )
        level = levels[0] if levels else None
    elif level not in levels:
        raise TrainingDataError(f"no frames labelled at level of theory {level!r}; the store has {levels}")
    frames = list(store.labelled_frames(level_of_theory=level, composition_id=composition_id)) if level else []
    iso = dict(store.isolated_energies(level)) if level else {}
    return LabelledData(frames, level, iso)


def load_labelled(
    project: Project | str | Path | None = None,
    frames_file: str | Path | None = None,
    level_of_theory: str | None = None,
) -> LabelledData:
    """Labelled frames from ``frames_file`` (extxyz) if given, else from the project's frame store
    (``project``: a :class:`~ilforge.project.Project` or its directory).

    Isolated-atom frames (``config_type == IsolatedAtom``) are taken out of ``frames`` into
    ``isolated_energies``. Raises :class:`TrainingDataError` when there are no labelled frames or when
    the levels of theory are mixed and none was chosen.
    """
    if frames_file is not None:
        frames = read_frames_file(frames_file)
        levels = sorted({str(a.info[keys.LEVEL_OF_THEORY]) for a in frames if keys.LEVEL_OF_THEORY in a.info})
        if level_of_theory is not None:
            frames = [a for a in frames if a.info.get(keys.LEVEL_OF_THEORY) == level_of_theory]
        elif len(levels) > 1:
            raise TrainingDataError(
                f"{frames_file} mixes labels from {len(levels)} levels of theory {levels}; choose one with `--level-of-theory`"
            )
        level = level_of_theory or (levels[0] if levels else None)
        data = LabelledData([a for a in frames if is_labelled(a)], level)
    elif project is not None:
        data = _from_store(project if isinstance(project, Project) else Project(project), level_of_theory, None)
    else:
        raise IlforgeError("give a workdir with a frame store or a frames file")
    iso = [a for a in data.frames if is_isolated_atom(a)]
    for a in iso:
        data.isolated_energies.setdefault(a.get_chemical_symbols()[0], float(a.info[keys.REF_ENERGY]))
    data.frames = [a for a in data.frames if not is_isolated_atom(a)]
    check_labelled(data.frames, f"frames (level of theory {data.level_of_theory})")
    return data


def split_key(atoms: Atoms, seed: int = 0) -> float:
    """The frame's place in the split, u in [0, 1): the first 8 bytes of SHA-256(seed, content hash)
    over 2⁶⁴. The content hash is ``info['frame_hash']`` (the frame store's identity) or, for a frame
    not from the store, :func:`ilforge.store.hashing.frame_hash` (numbers, positions and cell rounded
    to 10⁻⁶ Å, pbc): a function of the frame alone, not of the other frames present."""
    from ilforge.store.hashing import frame_hash

    h = atoms.info.get(keys.FRAME_HASH) or frame_hash(atoms)
    digest = hashlib.sha256(f"{int(seed)}:{h}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _split_group(fr: list[Atoms], u: np.ndarray, valid_fraction: float, test_fraction: float) -> tuple[list, list, list]:
    """(train, valid, test) of one group; see :func:`split_by_composition`."""
    n = len(fr)
    test = set(np.flatnonzero(u < test_fraction).tolist()) if test_fraction > 0 else set()
    if test_fraction > 0 and n >= 3:
        test.add(int(np.argmin(u[:3])))  # sticky: the first three frames never change as frames are appended
    rest = [i for i in range(n) if i not in test]
    if not rest:  # every frame fell below the threshold: the one with the largest key trains
        rest = [max(test, key=lambda i: u[i])]
        test.discard(rest[0])
    valid = [i for i in rest if test_fraction <= u[i] < test_fraction + valid_fraction] if valid_fraction > 0 else []
    if valid_fraction > 0 and not valid and len(rest) >= 2:
        valid = [min(rest, key=lambda i: u[i])]
    if len(valid) == len(rest):
        valid.remove(max(valid, key=lambda i: u[i]))
    train = [i for i in rest if i not in set(valid)]
    return [fr[i] for i in train], [fr[i] for i in valid], [fr[i] for i in sorted(test)]


def split_by_composition(
    frames: list[Atoms], valid_fraction: float, test_fraction: float, seed: int = 0, group_key: str | None = keys.COMPOSITION_ID
) -> tuple[list[Atoms], list[Atoms], list[Atoms]]:
    """(train, valid, test), a hash-stable split within each group (``info[group_key]``; None: one
    group). The one splitter of ilforge.

    Each frame has a key u = :func:`split_key` (uniform in [0, 1), a function of the frame's content
    hash and ``seed`` only): u < ``test_fraction`` tests, ``test_fraction`` <= u < ``test_fraction +
    valid_fraction`` validates, the rest trains. So a frame's split does not depend on how many frames
    exist: when frames are added (active learning's later generations) no test frame moves to
    training. Per group, as before: a group with ≥ 3 frames has at least one test frame (if
    ``test_fraction`` > 0; the frame with the smallest u among the group's first three in the given
    order, the store's insertion order, so appending frames never takes it out of the test set), a
    group with ≥ 2 frames left has at least one validation frame (if ``valid_fraction`` > 0), and at
    least one frame trains; the split of a group does not depend on the other groups present.
    """
    groups: dict[str, list[Atoms]] = {}
    for a in frames:
        groups.setdefault(str(a.info.get(group_key, "")) if group_key else "", []).append(a)
    train, valid, test = [], [], []
    for _, fr in sorted(groups.items()):
        u = np.array([split_key(a, seed) for a in fr])
        tr, va, te = _split_group(fr, u, valid_fraction, test_fraction)
        train += tr
        valid += va
        test += te
    return train, valid, test


def ensure_validation(train: list[Atoms], valid: list[Atoms], fraction: float, seed: int) -> tuple[list[Atoms], list[Atoms]]:
    """(train, valid) unchanged when ``valid`` has frames, else a seeded random part (``fraction``,
    default 0.1 when 0, at least one frame) of ``train`` moved to validation
    (:func:`split_by_composition` over one group)."""
    if valid:
        return train, valid
    if len(train) < 2:
        raise TrainingDataError(f"need at least 2 labelled frames to train (one for validation), got {len(train)}")
    train, valid, _ = split_by_composition(train, fraction or 0.1, 0.0, seed, group_key=None)
    return train, valid


def max_reference_force(atoms: Atoms) -> float:
    """max_i |F_i| of the frame's reference forces (eV/Å)."""
    return float(np.linalg.norm(np.asarray(atoms.arrays[keys.REF_FORCES]), axis=1).max())


def drop_violent_frames(frames: list[Atoms], max_force_eV_A: float | None, what: str) -> list[Atoms]:
    """``frames`` without those whose largest reference force exceeds ``max_force_eV_A`` (None: all kept).

    The force loss is a mean of squared components, so a frame with forces 10x the liquid's weighs
    like a hundred thermal frames: a few near-collisions or violent rattles take the fit over
    (docs/validation.md). Raises :class:`TrainingDataError` when no frame is left."""
    if max_force_eV_A is None or not frames:
        return frames
    kept = [a for a in frames if max_reference_force(a) <= max_force_eV_A]
    dropped = len(frames) - len(kept)
    if dropped:
        worst = max(max_reference_force(a) for a in frames)
        log.warning("%d of %d %s carry reference forces above training.max_force_eV_A = %g eV/Å (largest %.1f): "
                    "they are left out of the fit", dropped, len(frames), what, max_force_eV_A, worst)
    if not kept:
        raise TrainingDataError(
            f"every one of the {len(frames)} {what} carries a reference force above training.max_force_eV_A = "
            f"{max_force_eV_A:g} eV/Å (largest {worst:.1f}); check the labels' units, or raise the cap (null keeps every frame)")
    return kept


def split_training_frames(settings, train_frames: list[Atoms], valid_frames: list[Atoms]):
    """(train, valid, isolated, level) of a fit, as every backend prepares it: isolated atoms taken out
    (they fix E0s, not the fit), frames above ``settings.max_force_eV_A`` left out
    (:func:`drop_violent_frames`), labels and the one level of theory checked, a validation part drawn
    from the training frames when none is given (``settings.valid_fraction``, seeded)."""
    from ilforge.models.e0s import is_isolated_atom

    isolated = [a for a in train_frames if is_isolated_atom(a)]
    train = [a for a in train_frames if not is_isolated_atom(a)]
    valid = [a for a in valid_frames if not is_isolated_atom(a)]
    check_labelled(train, "training frames")
    cap = getattr(settings, "max_force_eV_A", None)
    train = drop_violent_frames(train, cap, "training frames")
    if valid:  # none left: ensure_validation draws them from the training frames
        check_labelled(valid, "validation frames")
        valid = [a for a in valid if cap is None or max_reference_force(a) <= cap]
    level = level_of_theory(train + valid + isolated, "training and validation frames")
    train, valid = ensure_validation(train, valid, settings.valid_fraction, settings.effective_seed())
    check_labelled(valid, "validation frames")
    return train, valid, isolated, level
