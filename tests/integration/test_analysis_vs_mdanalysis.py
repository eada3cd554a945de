"""ilforge's RDF and MSD agree with MDAnalysis on the same H5MD trajectory (read by both)."""

from __future__ import annotations

import numpy as np
import pytest

from ilforge.analysis.msd import msd_fft, msd_fft_mean
from ilforge.analysis.rdf import RDF
from ilforge.md.trajectory import H5MDWriter, read_h5md

mda = pytest.importorskip("MDAnalysis")


@pytest.fixture(scope="module")
def h5md_file(tmp_path_factory):
    from ase import Atoms

    rng = np.random.default_rng(11)
    N, L, F = 120, 16.0, 60
    atoms = Atoms(numbers=[3] * 40 + [8] * 80, positions=rng.random((N, 3)) * L, cell=np.eye(3) * L, pbc=True)
    path = tmp_path_factory.mktemp("traj") / "traj.h5"
    with H5MDWriter(path, atoms, flush_every=16) as w:
        for i in range(F):
            atoms.positions += rng.normal(0, 0.4, (N, 3))
            w.append(i, i * 0.01, atoms.positions, atoms.cell.array)
    return path


def _universe(path, symbols):
    u = mda.Universe.empty(len(symbols), trajectory=False)
    u.add_TopologyAttr("types", list(symbols))
    u.load_new(str(path), format="H5MD")
    return u


def test_rdf_matches_mdanalysis(h5md_file):
    from MDAnalysis.analysis.rdf import InterRDF

    traj = read_h5md(h5md_file)
    u = _universe(h5md_file, traj.symbols)
    ours = RDF(traj, "Li", "O", rmax_A=7.5, nbins=50).run().results
    theirs = InterRDF(u.select_atoms("type Li"), u.select_atoms("type O"), nbins=50, range=(0.0, 7.5)).run().results
    np.testing.assert_allclose(ours["r_A"], theirs.bins, rtol=1e-6)
    np.testing.assert_allclose(ours["g"], theirs.rdf, rtol=1e-5, atol=1e-6)
    assert ours["first_peak_r_A"] is None  # random positions: no first peak


def test_msd_matches_mdanalysis(h5md_file):
    from MDAnalysis.analysis.msd import EinsteinMSD

    traj = read_h5md(h5md_file)
    u = _universe(h5md_file, traj.symbols)
    ours = msd_fft(traj.positions).mean(axis=1)
    for fft in (True, False):
        theirs = EinsteinMSD(u, select="all", msd_type="xyz", fft=fft).run().results.timeseries
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(msd_fft_mean(traj.positions), theirs, rtol=1e-4, atol=1e-5)
