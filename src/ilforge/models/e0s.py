"""Per-element reference energies E0 (the atom-additive baseline of an MLIP).

An MLIP predicts E = Σ_i E0[Z_i] + Σ_i ε_i(environment); E0 carries the part of the energy that
depends only on how many atoms of each element a frame holds.

Two ways to get E0, in order of preference (Goodwin et al., J. Phys. Chem. Lett. 2024):

1. isolated atoms: E0[Z] = energy of one isolated atom of element Z at the same level of theory
   (frames with ``config_type == "IsolatedAtom"`` or the frame store's ``isolated_energies``);
2. a least-squares fit of the frame energies to the element counts: with the count matrix
   N (n_frames × n_elements, N[f, e] = number of atoms of element e in frame f) and energies
   E (n_frames,), solve min ||N·E0 − E||². The fit is defined only when rank(N) equals the number
   of elements. A neat 1:1 ionic liquid has every frame in the same element ratio, so rank(N) = 1
   and the split of the energy between elements is arbitrary: :func:`fit_e0s` refuses then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.plan import linalg

log = logging.getLogger(__name__)


class E0sError(IlforgeError):
    """Reference energies cannot be determined from the data given."""


@dataclass
class E0s:
    """Reference energies: ``values`` element symbol -> eV, and how they were obtained."""

    values: dict[str, float]
    method: str  # "isolated" or "fit"
    details: dict = field(default_factory=dict)

    def by_atomic_number(self) -> dict[int, float]:
        return {atomic_numbers[s]: float(e) for s, e in sorted(self.values.items(), key=lambda kv: atomic_numbers[kv[0]])}

    def to_json(self) -> dict:
        return {"method": self.method, "values_eV": {k: float(v) for k, v in sorted(self.values.items())}, **self.details}


def is_isolated_atom(atoms: Atoms) -> bool:
    """True for a one-atom frame marked as an isolated atom (config type ``IsolatedAtom``, the E0-frame convention of MLIP trainers)."""
    return len(atoms) == 1 and atoms.info.get(keys.CONFIG_TYPE) == keys.CT_ISOLATED_ATOM


def elements_of(frames: list[Atoms]) -> list[str]:
    """Sorted (by atomic number) element symbols present in ``frames``."""
    zs = sorted({int(z) for a in frames for z in a.numbers})
    from ase.data import chemical_symbols

    return [chemical_symbols[z] for z in zs]


def count_matrix(frames: list[Atoms], elements: list[str]) -> np.ndarray:
    """N[f, e]: number of atoms of ``elements[e]`` in frame f, shape (n_frames, n_elements)."""
    index = {atomic_numbers[s]: j for j, s in enumerate(elements)}
    n = np.zeros((len(frames), len(elements)))
    for i, a in enumerate(frames):
        for z in a.numbers:
            n[i, index[int(z)]] += 1
    return n


def isolated_e0s(frames: list[Atoms]) -> dict[str, float]:
    """E0 from isolated-atom frames among ``frames`` (symbol -> REF_energy, eV)."""
    out: dict[str, float] = {}
    for a in frames:
        if is_isolated_atom(a) and keys.REF_ENERGY in a.info:
            out[a.get_chemical_symbols()[0]] = float(a.info[keys.REF_ENERGY])
    return out


def fit_e0s(frames: list[Atoms]) -> E0s:
    """Least-squares E0 from the frames' energies and element counts; refuses a rank-deficient fit.

    Raises :class:`E0sError` naming the elements, the rank, the determined and undetermined
    combinations of E0s (the planner's linear algebra, :mod:`ilforge.plan.linalg`) and what to do
    when the element counts of the frames do not span every element direction (e.g. all frames
    with one element ratio).
    """
    frames = [a for a in frames if not is_isolated_atom(a)]
    if not frames:
        raise E0sError("no labelled frames to fit reference energies (E0s) to")
    elements = elements_of(frames)
    n = count_matrix(frames, elements)
    e = np.array([float(a.info[keys.REF_ENERGY]) for a in frames])
    rank = linalg.rank(n)
    if rank < len(elements):
        ratios = sorted({tuple(np.round(row / row.sum(), 6)) for row in n})
        determined = [linalg.combination_text(v, elements, "E0") for v in linalg.rref(linalg.row_space_basis(n))]
        undetermined = [linalg.combination_text(v, elements, "E0") for v in linalg.rref(linalg.null_space_basis(n, len(elements)))]
        raise E0sError(
            f"cannot fit per-element reference energies (E0s): the element counts of the {len(frames)} frames "
            f"span only {rank} independent direction(s) but there are {len(elements)} elements ({', '.join(elements)}); "
            f"the frames hold {len(ratios)} distinct element ratio(s). The data determine only "
            f"{'; '.join(determined)}, while {'; '.join(undetermined)} stay(s) undetermined "
            "(a neat 1:1 ionic liquid always has rank 1). Label isolated atoms at the same "
            "level of theory (config_type IsolatedAtom; `training: {e0s: isolated}`), or add frames at compositions "
            f"that vary the element ratios (at least {len(elements) - rank} more independent one(s))."
        )
    e0, *_ = np.linalg.lstsq(n, e, rcond=None)
    resid = e - n @ e0
    n_atoms = n.sum(axis=1)
    details = {"rank": rank, "n_frames": len(frames), "rmse_per_atom_eV": float(np.sqrt(np.mean((resid / n_atoms) ** 2)))}
    log.info("fitted E0s for %s on %d frames (rank %d)", elements, len(frames), rank)
    return E0s(dict(zip(elements, map(float, e0))), "fit", details)


def resolve_e0s(
    frames: list[Atoms],
    mode: str = "auto",
    isolated: dict[str, float] | None = None,
) -> E0s:
    """The E0s for training on ``frames``.

    ``isolated``: element -> eV from the store (merged with isolated-atom frames found in ``frames``).
    ``mode``: ``auto`` (isolated if every element has one, else fit), ``isolated`` or ``fit``.
    """
    elements = elements_of([a for a in frames if not is_isolated_atom(a)])
    iso = dict(isolated or {})
    iso.update(isolated_e0s(frames))
    missing = [s for s in elements if s not in iso]
    if mode in ("auto", "isolated") and not missing:
        return E0s({s: float(iso[s]) for s in elements}, "isolated")
    if mode == "isolated":
        raise E0sError(
            f"isolated-atom energies are missing for {missing}: label isolated atoms of these elements at the same "
            "level of theory (config_type IsolatedAtom), or set `training: {e0s: fit}`"
        )
    if mode == "auto" and missing:
        log.info("no isolated-atom energies for %s: fitting E0s by least squares", missing)
    return fit_e0s(frames)
