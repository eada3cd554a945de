"""Mixture arithmetic: components (neutral formula units) and molar fractions -> molecule counts.

A *component* is a neutral formula unit made of species, e.g. LiPF6 = {Li: 1, PF6: 1},
Li2SO4-like salts {Li: 2, SO4: 1}, or a solvent {water: 1}. A composition is either molar
fractions of components (summing to 1) or explicit species counts. With a box of ``N``
formula units, component *c* gets ``n_c = x_c N`` units, which must be whole numbers:
otherwise the composition cannot be realised and the nearest realisable fractions are given.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ilforge.errors import RecipeError

#: tolerance on x_c N being an integer, and on fractions summing to 1
FRACTION_TOL = 1e-6
#: largest box (atoms) ilforge packs: Packmol needs minutes at 20 000 atoms and hours beyond 10^5;
#: MLIP labelling and training of such boxes is out of reach anyway
MAX_BOX_ATOMS = 50_000
#: largest number of formula units per box (checked before any atom count is known)
MAX_FORMULA_UNITS = 10_000


def component_charge(stoichiometry: Mapping[str, int], charges: Mapping[str, int]) -> int:
    """Net charge (e) of a formula unit: sum_s nu_s q_s."""
    return int(sum(n * charges[s] for s, n in stoichiometry.items()))


def counts_from_fractions(
    fractions: Mapping[str, float],
    components: Mapping[str, Mapping[str, int]],
    formula_units: int,
    where: str = "composition",
) -> dict[str, int]:
    """Species counts for molar ``fractions`` of ``components`` in a box of ``formula_units``.

    n_s = sum_c (x_c N) nu_{c,s}. Raises :class:`RecipeError` when the fractions do not sum to
    1, name an unknown component, or give a non-integer number of formula units (the message
    names the nearest realisable fractions).
    """
    unknown = [c for c in fractions if c not in components]
    if unknown:
        raise RecipeError(
            f"{where}: unknown component(s) {unknown}; define them under `components:` (known: {sorted(components)})"
        )
    neg = {c: x for c, x in fractions.items() if x < 0}
    if neg:
        raise RecipeError(f"{where}: fractions must be >= 0, got {neg}")
    total = sum(fractions.values())
    if abs(total - 1.0) > FRACTION_TOL:
        raise RecipeError(f"{where}: molar fractions sum to {total:.6g}, not 1; adjust them so that they sum to 1")
    units = {}
    bad = {}
    for c, x in fractions.items():
        n = x * formula_units
        if abs(n - round(n)) > FRACTION_TOL * max(1, formula_units):
            bad[c] = x
        units[c] = int(round(n))
    if bad:
        nearest = nearest_realisable(fractions, formula_units)
        raise RecipeError(
            f"{where}: fraction(s) {bad} cannot be realised with {formula_units} formula units "
            f"(x * N must be a whole number); nearest realisable: {nearest}, "
            f"or change box.formula_units to a multiple that fits"
        )
    counts: dict[str, int] = {}
    for c, n in units.items():
        for s, nu in components[c].items():
            counts[s] = counts.get(s, 0) + n * int(nu)
    return {s: n for s, n in counts.items()}


def nearest_realisable(fractions: Mapping[str, float], formula_units: int) -> dict[str, float]:
    """Fractions rounded to multiples of 1/N that still sum to 1 (largest-remainder rounding)."""
    names = list(fractions)
    raw = np.array([fractions[c] * formula_units for c in names])
    base = np.floor(raw).astype(int)
    short = formula_units - base.sum()
    order = np.argsort(-(raw - base))
    for i in order[: max(short, 0)]:
        base[i] += 1
    return {c: round(int(n) / formula_units, 6) for c, n in zip(names, base)}


def net_charge(counts: Mapping[str, int], charges: Mapping[str, int]) -> int:
    """Total charge (e) of a box with species ``counts``."""
    return int(sum(n * charges[s] for s, n in counts.items()))


def formula_units_for_atoms(
    target_atoms: int,
    fractions_list: list[Mapping[str, float]],
    components: Mapping[str, Mapping[str, int]],
    atoms_per_species: Mapping[str, int],
) -> int:
    """Smallest box (in formula units) whose atom count is nearest ``target_atoms`` and that
    realises every composition in ``fractions_list`` with whole formula units.

    Searches N from 1 to 4x the estimate; raises :class:`RecipeError` when none fits.
    """

    def atoms(n_units: int, fr: Mapping[str, float]) -> float:
        return sum(
            fr[c] * n_units * sum(nu * atoms_per_species[s] for s, nu in components[c].items()) for c in fr
        )

    mean_atoms_per_unit = np.mean([atoms(1, fr) for fr in fractions_list]) if fractions_list else 1.0
    guess = max(1, int(round(target_atoms / mean_atoms_per_unit)))
    best = None
    for n in range(1, 4 * guess + 1):
        ok = all(
            all(abs(x * n - round(x * n)) <= FRACTION_TOL * n for x in fr.values()) for fr in fractions_list
        )
        if ok:
            err = abs(n * mean_atoms_per_unit - target_atoms)
            if best is None or err < best[0]:
                best = (err, n)
    if best is None:
        raise RecipeError(
            f"box.atoms: no box of up to {4 * guess} formula units realises every composition; "
            f"give box.formula_units explicitly"
        )
    return best[1]


class Composition:
    """A resolved composition: species counts of one box, and where they came from.

    ``counts``: species name -> number of molecules; ``fractions``: component -> molar fraction
    (None for explicit counts); ``x``: the scan variable when the composition comes from a scan.
    """

    __slots__ = ("id", "counts", "fractions", "x")

    def __init__(self, id: str, counts: dict[str, int], fractions: dict[str, float] | None = None, x: float | None = None):
        self.id = id
        self.counts = dict(counts)
        self.fractions = dict(fractions) if fractions is not None else None
        self.x = x

    def vector(self, species_order: list[str]) -> np.ndarray:
        """Counts as a vector in the order ``species_order`` (missing species count 0)."""
        return np.array([self.counts.get(s, 0) for s in species_order], dtype=float)

    def __repr__(self) -> str:
        return f"Composition({self.id!r}, {self.counts})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Composition) and (self.id, self.counts) == (other.id, other.counts)
