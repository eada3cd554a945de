"""Reference energies: isolated atoms by default, least-squares fit only where the element counts determine it."""

import numpy as np
import pytest
from ase import Atoms

from ilforge import keys
from ilforge.models.e0s import E0sError, count_matrix, fit_e0s, resolve_e0s

TRUE = {"H": -13.6, "O": -432.1, "Li": -200.25}


def frame(symbols: str, extra_eV: float = 0.0) -> Atoms:
    a = Atoms(symbols, positions=np.random.default_rng(len(symbols)).normal(size=(len(Atoms(symbols)), 3)))
    a.info[keys.REF_ENERGY] = sum(TRUE[s] for s in a.get_chemical_symbols()) + extra_eV
    a.arrays[keys.REF_FORCES] = np.zeros((len(a), 3))
    return a


def test_fit_recovers_exact_e0s_when_counts_span():
    frames = [frame("H2O"), frame("H2O2"), frame("LiOH"), frame("Li2O"), frame("H2")]
    e0 = fit_e0s(frames)
    assert e0.method == "fit" and e0.details["rank"] == 3
    assert e0.values == pytest.approx(TRUE, abs=1e-8)


def test_fit_refuses_fixed_element_ratio_like_a_neat_ionic_liquid():
    # every frame has Li:O:H = 1:1:1 (a "neat 1:1" system): rank 1 < 3 elements
    frames = [frame("LiOH", 0.1), frame("Li2O2H2", -0.3), frame("Li3O3H3", 0.2)]
    assert np.linalg.matrix_rank(count_matrix(frames, ["H", "Li", "O"])) == 1
    with pytest.raises(E0sError, match=r"span only 1 independent direction.*3 elements.*determine only E0\(H\) \+ E0\(Li\) \+ E0\(O\)"):
        fit_e0s(frames)


def test_auto_prefers_isolated_atoms_and_records_the_choice():
    frames = [frame("LiOH"), frame("Li2O2H2")]
    iso = {"H": -13.0, "O": -430.0, "Li": -199.0}
    e0 = resolve_e0s(frames, "auto", iso)
    assert e0.method == "isolated" and e0.values == iso
    assert e0.to_json()["method"] == "isolated"
    with pytest.raises(E0sError, match="rank|direction"):
        resolve_e0s(frames, "auto", {"H": -13.0})  # incomplete isolated set -> fit -> refused
    with pytest.raises(E0sError, match="missing"):
        resolve_e0s(frames, "isolated", {"H": -13.0})


def test_isolated_atom_frames_are_used():
    iso_frames = []
    for s, e in TRUE.items():
        a = Atoms(s)
        a.info.update({keys.REF_ENERGY: e, keys.CONFIG_TYPE: keys.CT_ISOLATED_ATOM})
        a.arrays[keys.REF_FORCES] = np.zeros((1, 3))
        iso_frames.append(a)
    e0 = resolve_e0s([frame("LiOH")] + iso_frames, "auto")
    assert e0.method == "isolated" and e0.values == pytest.approx(TRUE)
