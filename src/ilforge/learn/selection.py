"""Which exploration frames to label: trust window, failures first, diversity, budget.

For each exploration frame the committee gives the model deviation (DP-GEN; Zhang et al., Comput.
Phys. Commun. 253, 107206 (2020))

    ε = max_i |σ_F,i|,   σ_F,i = std_k F_ik   (eV/Å; F_ik the force on atom i from member k, ddof = 0)

and the mean over atoms of |σ_F,i|. A frame with ε < low is *accurate* (skipped), low <= ε < high a
*candidate*, ε >= high *unphysical* (skipped: the committee is lost, the structure is likely broken).

:func:`select_frames` fills a per-generation budget: first frames from runs a monitor stopped (bond
broken, Li–Li collapse), cut back :func:`cut_back` a few steps before the failure, where the
structure is still sound but already heading the wrong way; then candidates by farthest-point
sampling (:func:`farthest_point_sampling`) on a cheap per-frame descriptor
(:func:`pair_distance_descriptor`: per element pair, the histogram of interatomic distances per atom),
starting from the candidate with the largest spread. Everything here is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

ACCURATE = "accurate"
CANDIDATE = "candidate"
UNPHYSICAL = "unphysical"
#: why a frame was selected
FROM_FAILURE = "failure"
FROM_WINDOW = "window"


def classify(spreads, low_eV_A: float, high_eV_A: float) -> np.ndarray:
    """Per frame ``accurate`` (ε < low), ``candidate`` (low <= ε < high) or ``unphysical`` (ε >= high)."""
    s = np.asarray(spreads, dtype=float)
    out = np.full(s.shape, CANDIDATE, dtype=object)
    out[s < low_eV_A] = ACCURATE
    out[~(s < high_eV_A)] = UNPHYSICAL  # NaN spreads are unphysical too
    return out


def in_trust_window(spreads, low_eV_A: float, high_eV_A: float) -> np.ndarray:
    """Boolean mask of the candidates: low <= ε < high."""
    return classify(spreads, low_eV_A, high_eV_A) == CANDIDATE


def cut_back(steps, stop_step: int, cut_back_steps: int, n: int) -> list[int]:
    """Indices of the last ``n`` saved frames at MD step <= ``stop_step - cut_back_steps`` (the frames
    a few steps before a monitor stopped the run), latest last. A run that failed sooner than
    ``cut_back_steps`` after its first usable frame has none that far back: then the earliest frames
    before the stop (MD step < ``stop_step``) fill up, so that a run failing at once still teaches the
    next committee something (else every generation would explore into the same failure and select
    nothing from it)."""
    if n <= 0:
        return []
    steps = np.asarray(steps, dtype=int)
    ok = np.flatnonzero(steps <= int(stop_step) - int(cut_back_steps))[-n:].tolist()
    late = np.flatnonzero((steps > int(stop_step) - int(cut_back_steps)) & (steps < int(stop_step)))
    return ok + late[: n - len(ok)].tolist()


def element_pairs(symbols) -> list[tuple[str, str]]:
    """Sorted element pairs of the elements in ``symbols`` (the descriptor's blocks)."""
    return list(combinations_with_replacement(sorted(set(symbols)), 2))


def pair_distance_descriptor(atoms, pairs: list[tuple[str, str]], cutoff_A: float = 5.0, bins: int = 20) -> np.ndarray:
    """Per element pair (A, B) of ``pairs``, the histogram of distances r_ij < ``cutoff_A`` (Å) between
    atoms i of A and j of B (periodic images included), over ``bins`` equal bins, divided by the number
    of atoms: shape (len(pairs) * bins,). Cheap (one neighbour list) and invariant to rotation,
    translation and permutation of like atoms; two frames with the same local structure are close."""
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, float(cutoff_A))
    sym = np.asarray(atoms.get_chemical_symbols())
    keep = i < j
    a, b = sym[i[keep]], sym[j[keep]]
    d = d[keep]
    edges = np.linspace(0.0, cutoff_A, bins + 1)
    out = []
    for p, q in pairs:
        m = ((a == p) & (b == q)) | ((a == q) & (b == p))
        out.append(np.histogram(d[m], bins=edges)[0])
    return np.concatenate(out).astype(float) / max(len(atoms), 1)


def farthest_point_sampling(X, n: int, start: int = 0, chosen=None) -> list[int]:
    """Greedy farthest-point sampling: ``n`` rows of ``X`` (m, d), each the row farthest (Euclidean)
    from everything picked so far; the first is ``start`` unless rows ``chosen`` (k, d) are already
    picked, in which case the first is the row farthest from those. Returns row indices in pick order."""
    X = np.asarray(X, dtype=float)
    m = len(X)
    n = min(int(n), m)
    if n <= 0:
        return []
    d = np.full(m, np.inf)
    if chosen is not None and len(chosen):
        for c in np.atleast_2d(chosen):
            d = np.minimum(d, np.linalg.norm(X - c, axis=1))
    picks = []
    nxt = int(np.argmax(d)) if np.isfinite(d).any() else int(start)
    for _ in range(n):
        picks.append(nxt)
        d = np.minimum(d, np.linalg.norm(X - X[nxt], axis=1))
        d[picks] = -np.inf
        nxt = int(np.argmax(d))
    return picks


@dataclass
class Pool:
    """Exploration frames of one generation, in run order: ``frames`` (Atoms), per frame the spread ε
    (eV/Å), the run (``<cid>/<state>``) and the MD step; ``stopped``: run -> the step a monitor stopped it;
    ``mean_spreads``: per frame the mean over atoms of |σ_F,i| (eV/Å), when known; ``broken``: per frame,
    True when a molecule's bond graph is broken or the frame is already in the frame store (such frames
    are never selected)."""

    frames: list
    spreads: np.ndarray
    runs: list[str]
    steps: np.ndarray
    stopped: dict
    mean_spreads: np.ndarray | None = None
    broken: np.ndarray | None = None

    def usable(self) -> np.ndarray:
        """Frames whose molecules are intact."""
        return np.ones(len(self.frames), bool) if self.broken is None else ~np.asarray(self.broken, bool)


def failure_frames(pool: Pool, cut_back_steps: int, per_run: int) -> list[int]:
    """Pool indices of the cut-back frames (:func:`cut_back`) of every stopped run (intact frames only)."""
    out = []
    runs = np.asarray(pool.runs, dtype=object)
    for run, stop in pool.stopped.items():
        idx = np.flatnonzero((runs == run) & pool.usable())
        out += [int(idx[i]) for i in cut_back(pool.steps[idx], stop, cut_back_steps, per_run)]
    return out


def select_frames(pool: Pool, budget: int, low_eV_A: float, high_eV_A: float, *, cut_back_steps: int = 20,
                  per_failure: int = 2, cutoff_A: float = 5.0) -> list[tuple[int, str]]:
    """(pool index, reason) of at most ``budget`` frames: failure frames first (reason ``failure``),
    then farthest-point-sampled candidates of the trust window (reason ``window``, the first the one
    with the largest spread); frames with a broken molecule are never picked."""
    if budget <= 0 or not pool.frames:
        return []
    first = failure_frames(pool, cut_back_steps, per_failure)[:budget]
    window = in_trust_window(pool.spreads, low_eV_A, high_eV_A) & pool.usable()
    cand = [i for i in np.flatnonzero(window) if i not in set(first)]
    n_more = budget - len(first)
    picked: list[int] = []
    if cand and n_more > 0:
        pairs = element_pairs(np.concatenate([a.get_chemical_symbols() for a in pool.frames]))
        X = np.array([pair_distance_descriptor(pool.frames[i], pairs, cutoff_A) for i in cand])
        chosen = np.array([pair_distance_descriptor(pool.frames[i], pairs, cutoff_A) for i in first]) if first else None
        start = int(np.argmax(pool.spreads[cand]))
        picked = [cand[i] for i in farthest_point_sampling(X, n_more, start, chosen)]
    return [(i, FROM_FAILURE) for i in first] + [(int(i), FROM_WINDOW) for i in picked]
