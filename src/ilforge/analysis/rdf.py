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
        raise AnalysisError(f"RDF selection {sel if isinstance(sel, str) else list(np.atleast_1d(sel))} matches no atoms "
                            f"(elements here: {', '.join(dict.fromkeys(map(str, trajectory.symbols)))}); use element symbols or 'species:NAME'")
    return idx


class RDF(AnalysisBase):
    """g(r) between two atom selections (``"Li"``, ``["O"]``, ``"species:TFSI"`` or index arrays).

    With ``centres_of_mass=True`` the selections are species names and g(r) is between molecular
    centres of mass. results: ``r_A`` (bin centres), ``edges_A``, ``g``, ``g_err`` (block standard
    error), ``n_cumulative`` (coordination number vs r), ``first_peak_r_A`` and ``first_peak_g``
    (None when g has no significant peak, :func:`first_peak_index`), ``first_min_r_A``, ``cn_first_min``,
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
                raise AnalysisError(f"centre-of-mass RDF {self.sel_a}-{self.sel_b}: a species is not in this trajectory "
                                    f"(it holds {', '.join(sorted(map(str, set(mol_species))))}); --com-rdf takes species names")
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

    def _ideal_counts(self, volumes):
        """Pair counts per bin over ``len(volumes)`` frames for an ideal gas (g = 1): frames × pairs / ⟨V⟩ × shell volume."""
        na, nb = len(self._ia), len(self._ib)
        shell = 4.0 / 3.0 * np.pi * np.diff(self.edges**3)
        pairs = na * (na - 1) / 2.0 if self.same else na * nb
        return len(volumes) * pairs / volumes.mean() * shell

    def _normalise(self, counts, volumes):
        return counts.sum(axis=0) / self._ideal_counts(volumes)

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
        i_peak = first_peak_index(g, self._ideal_counts(vol), g_err)
        i_min = first_minimum_index(g, i_peak=i_peak) if i_peak is not None else None
        res.update(first_peak_r_A=float(r[i_peak]) if i_peak is not None else None,
                   first_peak_g=float(g[i_peak]) if i_peak is not None else None)
        if i_min is not None:
            res["first_min_r_A"] = float(self.edges[i_min + 1])
            res["cn_first_min"] = float(n_cum[i_min])
        if self.cutoff_A is not None:
            res["cn_cutoff"] = coordination_number(self.edges, n_cum, self.cutoff_A)
            res["cutoff_A"] = float(self.cutoff_A)
        self.results.update(res)


def _windows(x, width: int) -> np.ndarray:
    """Sums of ``x`` over ``width`` consecutive bins centred on each bin (zero-padded at the ends)."""
    return np.convolve(np.asarray(x, dtype=float), np.ones(width), mode="same")


def first_peak_index(g, n_ideal=None, g_err=None, width: int = 3, min_windows: int = 3, min_excess: float = 0.1,
                     z: float = 4.0, min_counts: float = 10.0) -> int | None:
    """Bin index of the first real peak of g(r), or None (ideal gas, noise only).

    g is averaged over ``width``-bin windows, weighted by the ideal-gas pair counts ``n_ideal``
    (counts expected for g = 1 in each bin; the count-weighted mean of g is Σ counts / Σ n_ideal).
    A window is significant when it holds at least ``min_counts`` pairs and its mean g exceeds 1 by
    more than ``min_excess`` and by ``z`` standard errors (Poisson, 1/√Σn_ideal, or the block error
    ``g_err`` when larger). The first peak is the maximum of the smoothed g over the region above 1
    that starts with the first run of ``min_windows`` contiguous significant windows. This ignores
    the empty or sparsely populated bins at small r, where one pair gives a large g.
    Without ``n_ideal`` (a bare g), the counts are taken as large and only the excess is tested.
    """
    g = np.asarray(g, dtype=float)
    if n_ideal is None:
        n_ideal = np.full_like(g, 1e12)
    e = _windows(n_ideal, width)
    counts = _windows(g * n_ideal, width)
    gs = np.divide(counts, e, out=np.zeros_like(g), where=e > 0)
    sigma = 1.0 / np.sqrt(np.maximum(e, 1e-300))
    if g_err is not None and np.all(np.isfinite(g_err)):
        sigma = np.maximum(sigma, _windows(np.asarray(g_err) ** 2, width) ** 0.5 / width)
    sig = (counts >= min_counts) & (gs - 1.0 > np.maximum(min_excess, z * sigma))
    run = np.convolve(sig.astype(int), np.ones(min_windows, int), mode="valid") == min_windows
    if not run.any():
        return None
    start = int(np.argmax(run))
    stop = start
    while stop < len(gs) and gs[stop] > 1.0:
        stop += 1
    return start + int(np.argmax(gs[start:stop]))


def first_minimum_index(g, smooth: int = 3, i_peak: int | None = None) -> int | None:
    """Bin index of the first minimum of g after its first peak (g smoothed over ``smooth`` bins).

    ``i_peak``: the first peak (default :func:`first_peak_index` of g alone). On a plateau (g = 0
    between the shells of a lattice) the first bin of the plateau is returned. None when g has no
    peak followed by a minimum.
    """
    g = np.asarray(g, dtype=float)
    gs = np.convolve(g, np.ones(smooth) / smooth, mode="same") if smooth > 1 else g
    if i_peak is None:
        i_peak = first_peak_index(g)
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
