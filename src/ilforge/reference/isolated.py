"""Isolated-atom and isolated-ion energies at the level of theory of the labels.

Atom-additive MLIPs fit E = Σ_i E0(Z_i) + E_interaction; E0 is best taken as the
energy of the isolated neutral atom at the same level of theory (the papers do this). An atom is
computed in its ground-state spin multiplicity 2S + 1 from Hund's rules for the free atom
(:data:`GROUND_STATE_MULTIPLICITY`, e.g. H 2, C 3 (³P), N 4 (⁴S), O 3 (³P), F 2, B 2, P 4, S 3,
Li 2), charge 0. An isolated ion (a species of the recipe: EMIM⁺, BF4⁻, Li⁺...) is computed
with its formal charge and, as every closed-shell IL ion, multiplicity 1 when its electron count
is even (else 2). Periodic labelers (CP2K, QE) compute both in a large non-periodic cell
(see their ``isolated_energy``).

Results go to the frame store (:meth:`FrameStore.set_isolated_energy`) and out as
``IsolatedAtom`` frames or an E0 dict (:meth:`FrameStore.isolated_energies`).
"""

from __future__ import annotations

import logging

from ase import Atoms
from ase.data import atomic_numbers

from ilforge.reference.base import Labeler

log = logging.getLogger(__name__)

#: spin multiplicity 2S+1 of the free neutral atom's ground state (NIST atomic spectra database term symbols)
GROUND_STATE_MULTIPLICITY = {
    "H": 2, "He": 1, "Li": 2, "Be": 1, "B": 2, "C": 3, "N": 4, "O": 3, "F": 2, "Ne": 1,
    "Na": 2, "Mg": 1, "Al": 2, "Si": 3, "P": 4, "S": 3, "Cl": 2, "Ar": 1,
    "K": 2, "Ca": 1, "Zn": 1, "Ga": 2, "Ge": 3, "As": 4, "Se": 3, "Br": 2, "Kr": 1,
    "Rb": 2, "Sr": 1, "I": 2, "Cs": 2, "Ba": 1,
}


def atom_multiplicity(symbol: str) -> int:
    """Ground-state spin multiplicity of a neutral atom; raises for elements not tabulated."""
    try:
        return GROUND_STATE_MULTIPLICITY[symbol]
    except KeyError:
        raise KeyError(
            f"no ground-state spin multiplicity tabulated for {symbol}; add it to "
            f"ilforge.reference.isolated.GROUND_STATE_MULTIPLICITY"
        ) from None


def ion_multiplicity(symbols, charge: int) -> int:
    """1 for an even number of electrons (closed shell), 2 for odd."""
    n_electrons = sum(atomic_numbers[s] for s in symbols) - int(charge)
    return 1 if n_electrons % 2 == 0 else 2


def compute_isolated_atoms(labeler: Labeler, store, elements) -> dict[str, float]:
    """Compute and store the isolated-atom energy of every element not yet stored at this level."""
    lot = labeler.level_of_theory
    have = store.isolated_energies(lot)
    for sym in sorted(set(elements)):
        if sym in have:
            continue
        mult = atom_multiplicity(sym)
        e = labeler.isolated_energy(sym, charge=0, spin_multiplicity=mult)
        log.info("isolated %s (2S+1=%d) at %s: %.6f eV", sym, mult, lot, e)
        store.set_isolated_energy(lot, Atoms(sym), sym, e, 0, mult, kind="atom")
        have[sym] = e
    return {s: have[s] for s in sorted(set(elements))}


def compute_isolated_ions(labeler: Labeler, store, species: dict[str, Atoms]) -> dict[str, float]:
    """Compute and store the energy of each isolated ion/molecule ``name -> Atoms`` (info
    ``charge_e`` = formal charge) not yet stored at this level."""
    lot = labeler.level_of_theory
    have = store.isolated_ion_energies(lot)
    for name, atoms in species.items():
        if name in have:
            continue
        q = int(atoms.info.get("charge_e", 0))
        mult = ion_multiplicity(atoms.get_chemical_symbols(), q)
        e = labeler.isolated_energy(atoms, charge=q, spin_multiplicity=mult)
        store.set_isolated_energy(lot, atoms, name, e, q, mult, kind="ion")
        have[name] = e
    return have
