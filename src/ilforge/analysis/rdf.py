"""Radial distribution functions g(r) for atom groups or molecular centres of mass, and coordination numbers.

g_ab(r) = ⟨n_ab(r)⟩ / (N_a ρ_b 4π r² dr), with n_ab(r) the number of (a, b) pairs at minimum-image
distance in [r, r + dr), ρ_b = N_b / ⟨V⟩ and, for identical groups, N_a ρ_b replaced by
N_a (N_a - 1) / ⟨V⟩ (self pairs excluded), so that an ideal gas gives g = 1 exactly on average.
The shell volume is 4π/3 ((r+dr)³ - r³). Coordination number
n_ab(R) = 4π ρ_b ∫_0^R g_ab(r) r² dr, evaluated at a given cutoff or the first minimum of g.
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisBase, AnalysisError
from ilforge.analysis.blocks import block_split
from ilforge.analysis.geometry import centres_of_mass, max_cutoff, molecule_table, pair_histogram


def _as_indices(trajectory, sel) -> np.ndarray:
    """A selection: index array, element symbol(s) (``"Li"``, ``["O", "N"]``) or ``"species:NAME"``."""
    if isinstance(sel, str) and sel.startswith("species:"):
        idx = trajectory.select(mol_species=sel.split(":", 1)[1])
    elif isinstance(sel, (str, list, tuple)) and all(isinstance(x, str) for x in np.atleast_1d(sel)):
        idx = trajectory.select(symbols=sel)
    else:
        idx = np.asarray(sel, dtype=int)
    if len(idx) == 0:
        raise AnalysisError(f"selection {sel!r} matches no atoms; use element symbols or 'species:NAME'")
    return idx


class RDF(AnalysisBase):
    """g(r) between two atom selections (``"Li"``, ``["O"]``, ``"species:TFSI"`` or index arrays).

    With ``centres_of_mass=True`` the selections are species names and g(r) is between molecular
    centres of mass. results: ``r_A`` (bin centres), ``edges_A``, ``g``, ``g_err`` (block standard
    error), ``n_cumulative`` (coordination number vs r), ``first_min_r_A``, ``cn_first_min``,
    ``cn_cutoff`` (when ``cutoff_A`` given), ``density_b_A3``, ``n_a``, ``n_b``.
    """

    def __init__(self, trajectory, sel_a, sel_b, rmax_A: float = 10.0, nbins: int = 200, rmin_A: float = 0.0,
                 centres_of_mass: bool = False, cutoff_A: float | None = None, n_blocks: int = 5):
        super().__init__(trajectory)
        self.sel_a, self.sel_b = sel_a, sel_b
        self.edges = np.linspace(rmin_A, rmax_A, nbins + 1)
        self.com = centres_of_mass
        self.cutoff_A = cutoff_A
        self.n_blocks = n_blocks

    def _prepare(self):
        t = self.trajectory
        if self.com:
            mol_species, _ = molecule_table(t.mol_id, t.mol_species)
            self._ia = np.flatnonzero(mol_species == self.sel_a)
            self._ib = np.flatnonzero(mol_species == self.sel_b)
            if len(self._ia) == 0 or len(self._ib) == 0:
                raise AnalysisError(f"centre-of-mass RDF: species {self.sel_a!r} or {self.sel_b!r} not in {sorted(set(mol_species))}")
        else:
            self._ia, self._ib = _as_indices(t, self.sel_a), _as_indices(t, self.sel_b)
        self.same = len(self._ia) == len(self._ib) and np.array_equal(self._ia, self._ib)
        if not self.same and len(np.intersect1d(self._ia, self._ib)):
            raise AnalysisError("the two RDF selections overlap partly; use identical or disjoint selections")
        rc = min(max_cutoff(c) for c in t.cells[self.frames])
        if self.edges[-1] > rc + 1e-9:
            raise AnalysisError(f"rmax {self.edges[-1]:.2f} Å exceeds half the box width ({rc:.2f} Å); lower rdf_rmax_A")
        self._counts = np.zeros((self.n_frames, len(self.edges) - 1), dtype=np.int64)

    def _single_frame(self):
        t, f = self.trajectory, self._frame_index
        if self.com:
            com = centres_of_mass(t.positions[f], t.masses, t.mol_id)
            xa, xb = com[self._ia], com[self._ib]
        else:
            xa, xb = t.positions[f, self._ia], t.positions[f, self._ib]
        self._counts[self._i] = pair_histogram(xa, xb, t.cells[f], self.edges, same=self.same)

    def _normalise(self, counts, volumes):
        na, nb = len(self._ia), len(self._ib)
        shell = 4.0 / 3.0 * np.pi * np.diff(self.edges**3)
        V = volumes.mean()
        pairs = na * (na - 1) / 2.0 if self.same else na * nb
        return counts.sum(axis=0) / (len(counts) * pairs / V * shell)

    def _conclude(self):
        t = self.trajectory
        vol = t.volumes_A3[self.frames]
        g = self._normalise(self._counts, vol)
        blocks = [self._normalise(self._counts[b], vol[b]) for b in block_split(self.n_frames, self.n_blocks)] if self.n_frames >= self.n_blocks else []
        g_err = np.std(blocks, axis=0, ddof=1) / np.sqrt(len(blocks)) if blocks else np.full_like(g, np.nan)
        r = 0.5 * (self.edges[1:] + self.edges[:-1])
        na, nb = len(self._ia), len(self._ib)
        rho_b = ((nb - 1) if self.same else nb) / vol.mean()
        shell = 4.0 / 3.0 * np.pi * np.diff(self.edges**3)
        n_cum = np.cumsum(rho_b * g * shell)
        res = dict(r_A=r, edges_A=self.edges, g=g, g_err=g_err, n_cumulative=n_cum, density_b_A3=rho_b, n_a=na, n_b=nb)
        i_min = first_minimum_index(g)
        if i_min is not None:
            res["first_min_r_A"] = float(self.edges[i_min + 1])
            res["cn_first_min"] = float(n_cum[i_min])
        if self.cutoff_A is not None:
            res["cn_cutoff"] = coordination_number(self.edges, n_cum, self.cutoff_A)
            res["cutoff_A"] = float(self.cutoff_A)
        self.results.update(res)


def first_minimum_index(g, smooth: int = 3) -> int | None:
    """Bin index of the first minimum of g after its first peak (g smoothed over ``smooth`` bins).

    On a plateau (g = 0 between the shells of a lattice) the first bin of the plateau is returned.
    None when g has no peak followed by a minimum.
    """
    g = np.asarray(g, dtype=float)
    gs = np.convolve(g, np.ones(smooth) / smooth, mode="same") if smooth > 1 else g
    nz = np.flatnonzero(g > 0)
    if len(nz) == 0:
        return None
    # first peak: first local maximum of the smoothed curve that exceeds 1 (or the global max)
    i_peak = None
    for i in range(nz[0], len(gs) - 1):
        if gs[i] >= gs[i - 1] and gs[i] > gs[i + 1] and gs[i] > 1.0:
            i_peak = i
            break
    if i_peak is None:
        return None
    for i in range(i_peak + 1, len(gs) - 1):
        if gs[i] <= gs[i + 1]:
            # go back to the first bin of a flat bottom
            j = i
            while j > i_peak + 1 and np.isclose(gs[j - 1], gs[i]):
                j -= 1
            return j
    return None


def coordination_number(edges, n_cumulative, cutoff_A: float) -> float:
    """Coordination number at ``cutoff_A``, interpolating the cumulative count between bin edges."""
    return float(np.interp(cutoff_A, edges, np.concatenate([[0.0], n_cumulative])))


class PairRDFs:
    """All element-pair partial RDFs of a trajectory (used by the X-ray structure factor)."""

    def __init__(self, trajectory, rmax_A: float, nbins: int = 400, n_blocks: int = 5):
        self.trajectory, self.rmax_A, self.nbins, self.n_blocks = trajectory, rmax_A, nbins, n_blocks
        self.results: dict = {}

    def run(self, start=None, stop=None, step=None):
        t = self.trajectory
        elements = list(dict.fromkeys(t.symbols))
        partial = {}
        for i, a in enumerate(elements):
            for b in elements[i:]:
                rdf = RDF(t, a, b, rmax_A=self.rmax_A, nbins=self.nbins, n_blocks=self.n_blocks).run(start, stop, step)
                partial[(a, b)] = rdf.results["g"]
                r = rdf.results["r_A"]
        self.results.update(r_A=r, g=partial, elements=elements,
                            concentrations={e: float(np.mean(t.symbols == e)) for e in elements},
                            number_density_A3=float(t.n_atoms / np.mean(t.volumes_A3)))
        return self
