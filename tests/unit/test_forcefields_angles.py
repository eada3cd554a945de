"""Angle terms per fftool's rule, and one atom numbering shared by the packed boxes and the force fields.

fftool drops an angle term whose value in the molecule's equilibrium geometry is more than 15° from
θ0: PF6- keeps the 12 cis F-P-F terms (θ0 = 90°), not the 3 trans pairs at 180°. The boxes are packed
from ``chem.geometry.species_geometry``; the force field's geometry is numbered to agree with it, so
every kept term also sits near θ0 in a packed molecule.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openmm")
pytest.importorskip("networkx")

from ilforge.chem.geometry import species_geometry  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.forcefields.clandp_reader import ForceFieldError  # noqa: E402
from ilforge.forcefields.matching import ANGLE_TOLERANCE_DEG, align_equivalent_leaves, bond_angle_deg  # noqa: E402

LIB = load_library()
#: species of the library with a CL&P molecule file that the shipped database cannot parametrise,
#: and why (cholinium.xyz names des.ff, the deep-eutectic database, which CL&P's il.ff does not hold)
NOT_COVERED = {"choline": "COL"}


def _clandp_species(clandp) -> list[str]:
    """Species with a CL&P molecule file, and single ions whose element is an il.ff atom (Li+)."""
    from ilforge.forcefields.clandp_reader import read_ff

    atoms = read_ff(clandp / "il.ff").atoms
    return [sp.name for sp in LIB if sp.clandp or (sp.n_atoms == 1 and sp.symbols[0] in atoms)]


def _worst_kept_angle(t, pos) -> float:
    """Largest |θ - θ0| (degrees) over the template's angle terms, θ measured in ``pos``."""
    return max((abs(bond_angle_deg(pos, i, j, k) - th0) for i, j, k, th0, _ in t.angles), default=0.0)


def test_every_clandp_species_keeps_only_angles_near_theta0(clandp):
    covered, failed = [], {}
    for name in _clandp_species(clandp):
        try:
            t = clandp_template(LIB.get(name), clandp)
        except ForceFieldError as exc:
            failed[name] = str(exc)
            continue
        covered.append(name)
        assert _worst_kept_angle(t, t.positions_A) <= ANGLE_TOLERANCE_DEG, name  # the molecule file's geometry
        if t.n_atoms > 1:  # and the geometry the boxes are packed from, atom by atom
            assert _worst_kept_angle(t, species_geometry(LIB.get(name)).positions) <= ANGLE_TOLERANCE_DEG + 5, name
    assert set(failed) == set(NOT_COVERED), failed
    assert all(NOT_COVERED[n] in failed[n] for n in failed)
    assert {"EMIM", "BF4", "PF6", "TFSI", "Li", "SCN", "water"} <= set(covered) and len(covered) >= 25


def test_pf6_has_twelve_cis_angles_and_no_trans_term(clandp):
    t = clandp_template(LIB.get("PF6"), clandp)
    assert len(t.angles) == 12
    assert all(th0 == pytest.approx(90.0) for *_, th0, _k in t.angles)
    p = t.types.index("P")
    fs = [i for i in range(7) if i != p]
    trans = {frozenset((a, b)) for a in fs for b in fs if a < b and bond_angle_deg(t.positions_A, a, p, b) > 170}
    assert len(trans) == 3
    assert not trans & {frozenset((i, k)) for i, _, k, *_ in t.angles}


def test_packed_pf6_fits_every_kept_angle(clandp):
    """The box builder's PF6- (species_geometry, any seed) has every kept F-P-F term within 15° of
    θ0 = 90°: its trans pairs are the pairs the force field left out."""
    t = clandp_template(LIB.get("PF6"), clandp)
    for seed in (0, 7):
        g = species_geometry(LIB.get("PF6"), seed=seed).positions
        assert _worst_kept_angle(t, g) < 1.0
        # the force field's geometry and the packed one agree atom by atom: same F-F distance matrix
        # (cis ~2.3 Å, trans ~3.2 Å; bond lengths differ by 0.03 Å between CL&P and the packer)
        d_ff = np.linalg.norm(t.positions_A[:, None] - t.positions_A[None], axis=-1)
        d_box = np.linalg.norm(g[:, None] - g[None], axis=-1)
        assert np.abs(d_ff - d_box).max() < 0.1


def test_alignment_picks_the_trans_pairs_of_the_reference():
    """Six equivalent F on P: the reordering makes the trans pairs those of the reference geometry,
    and leaves a molecule without a spread of angles (BF4-, tetrahedral) untouched."""
    oct_dirs = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1.0]]) * 1.6
    ref = np.vstack([[0, 0, 0], oct_dirs])
    scrambled = np.vstack([[0, 0, 0], oct_dirs[[0, 2, 4, 1, 3, 5]]])  # trans pairs at (1,4), (2,5), (3,6)
    labels, bonds = ["P"] + ["F"] * 6, [(0, i) for i in range(1, 7)]
    perm = align_equivalent_leaves(labels, bonds, scrambled, lambda: ref)
    assert perm[0] == 0 and sorted(perm) == list(range(7))
    np.testing.assert_allclose(scrambled[perm], ref, atol=1e-12)
    tet = np.vstack([[0, 0, 0], np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1.0]])])
    called = []
    perm = align_equivalent_leaves(["B"] + ["F"] * 4, [(0, i) for i in range(1, 5)], tet, lambda: called.append(1))
    assert perm == list(range(5))
    assert not called  # no ambiguous centre: the reference geometry is not even computed


def test_angle_selection_drops_far_terms_and_keeps_near_ones(clandp, tmp_path):
    """A CL&P-format file whose geometry puts an angle 20° off θ0 loses that term; at 10° it keeps it."""
    lines = (clandp / "PF6.zmat").read_text()
    t_ref = clandp_template(LIB.get("PF6"), clandp)
    assert len(t_ref.angles) == 12
    for bend, kept in ((10.0, 12), (20.0, 10)):
        # tilt the file's F 3 towards F 2 by `bend`: F2-P-F3 = 90 - bend and F3-P-F7 = 90 + bend (F7 is trans
        # to F2); the other cis angles of F3 stay 90°
        text = lines.replace("3  FP  1  1.606  2   90.0", f"3  FP  1  1.606  2   {90.0 - bend:.1f}")
        (tmp_path / "PF6.zmat").write_text(text)
        (tmp_path / "il.ff").write_text((clandp / "il.ff").read_text())
        t = clandp_template(LIB.get("PF6"), tmp_path)
        assert len(t.angles) == kept, bend


def test_generic_pf6_trans_pairs_match_the_packed_geometry(tmp_path):
    """Generic force field: θ0 from the xTB geometry, 12 terms at ~90° and 3 at ~180°, numbered so
    that the packed PF6- has each term within a few degrees of its θ0 (never a 90° term on a trans pair)."""
    pytest.importorskip("tblite")
    from ilforge.forcefields.generic import generic_template

    t = generic_template(LIB.get("PF6"), cache_dir=tmp_path)
    th0 = sorted(a[3] for a in t.angles)
    assert len(th0) == 15 and np.allclose(th0[:12], 90, atol=3) and np.allclose(th0[12:], 180, atol=3)
    assert _worst_kept_angle(t, species_geometry(LIB.get("PF6")).positions) < 5.0
    assert _worst_kept_angle(t, t.positions_A) < 1e-6
    assert sum(t.charges_e) == pytest.approx(-1.0, abs=1e-3)
