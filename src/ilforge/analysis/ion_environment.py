"""Environment of a small cation (Li⁺ by default): close cation–cation contacts, ion pairing, clusters.

Per frame:
- close contacts: number of cation–cation pairs closer than ``close_contact_A`` (Li–Li < 2.0 Å is
  unphysical for Li⁺ in electrolytes; counted over time as in water-in-salt MLIP studies);
- coordination: an anion *molecule* coordinates a cation when any of its ``coordinating``
  atoms (default O, N, F) lies within ``cutoff_A``; each cation is classified by how many
  anions coordinate it: 0 (free / solvent-separated), 1 (contact ion pair), >= 2 (aggregate);
- clusters: connected components of the graph cations + anion molecules joined by those
  coordination bonds; reported as the distribution of cluster sizes (number of ions).
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisBase, AnalysisError
from ilforge.analysis.blocks import block_average
from ilforge.analysis.geometry import distance_matrix


class IonEnvironment(AnalysisBase):
    """results: ``time_ps``, ``close_contacts`` (F,) int, ``close_contacts_total``, ``frames_with_close_contact``,
    ``min_cation_cation_A`` (F,), ``anions_per_cation_fraction`` {0,1,2,...: fraction}, ``free_fraction``,
    ``contact_pair_fraction``, ``aggregate_fraction`` (± ``_err`` block errors), ``cluster_size_fraction``
    {size: fraction of ions in clusters of that size}, ``mean_cluster_size``, ``largest_cluster_mean``."""

    def __init__(self, trajectory, cation: str = "Li", anion_species=None, coordinating=("O", "N", "F"),
                 cutoff_A: float = 2.8, close_contact_A: float = 2.0, n_blocks: int = 5, charges: dict | None = None):
        super().__init__(trajectory)
        self.charges = charges
        self.cation, self.anion_species = cation, anion_species
        self.coordinating, self.cutoff_A, self.close_contact_A, self.n_blocks = tuple(coordinating), cutoff_A, close_contact_A, n_blocks

    def _prepare(self):
        t = self.trajectory
        self._cat = t.select(symbols=self.cation)
        if len(self._cat) == 0:
            raise AnalysisError(f"no {self.cation} atoms in this trajectory")
        if t.mol_id is None or t.mol_species is None:
            raise AnalysisError("ion-environment analysis needs mol_id and mol_species arrays")
        anions = self.anion_species
        if anions is None:
            from ilforge.analysis.conductivity import formal_charges

            names = [str(x) for x in dict.fromkeys(t.mol_species)]
            z = formal_charges(names, self.charges)
            anions = [s for s in names if z[s] < 0]
        self._lig = t.select(symbols=list(self.coordinating), mol_species=list(anions))
        if len(self._lig) == 0:
            raise AnalysisError(f"no {', '.join(self.coordinating)} atoms in the anion species ({', '.join(map(str, anions)) or 'none'}); "
                                "set analysis.coordinating_elements or leave 'ions' out of the properties")
        self._lig_mol = np.unique(t.mol_id[self._lig], return_inverse=True)[1]
        self._n_anion_mol = self._lig_mol.max() + 1
        F, n = self.n_frames, len(self._cat)
        self._cc = np.zeros(F, int)
        self._dmin = np.full(F, np.inf)
        self._nanion = np.zeros((F, n), int)
        self._sizes: list[np.ndarray] = []

    def _single_frame(self):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        t, f, i = self.trajectory, self._frame_index, self._i
        x = t.positions[f]
        cell = t.cells[f]
        nc = len(self._cat)
        if nc > 1:
            d = distance_matrix(x[self._cat], x[self._cat], cell)
            iu = np.triu_indices(nc, 1)
            self._cc[i] = int(np.sum(d[iu] < self.close_contact_A))
            self._dmin[i] = float(d[iu].min())
        dl = distance_matrix(x[self._cat], x[self._lig], cell) < self.cutoff_A  # (nc, n_lig)
        # cation-anion-molecule adjacency
        A = np.zeros((nc, self._n_anion_mol), bool)
        ci, li = np.nonzero(dl)
        A[ci, self._lig_mol[li]] = True
        self._nanion[i] = A.sum(axis=1)
        ci, ai = np.nonzero(A)
        n_nodes = nc + self._n_anion_mol
        g = coo_matrix((np.ones(len(ci)), (ci, nc + ai)), shape=(n_nodes, n_nodes))
        _, labels = connected_components(g, directed=False)
        self._sizes.append(np.bincount(np.bincount(labels)))  # count of clusters per size

    def _conclude(self):
        F = self.n_frames
        nmax = self._nanion.max() + 1
        frac = np.array([np.bincount(row, minlength=nmax) / row.size for row in self._nanion])  # (F, nmax)
        free, fe = block_average(frac[:, 0], min(self.n_blocks, F)) if F >= 2 else (frac[:, 0].mean(), np.nan)
        cip, ce = block_average(frac[:, 1] if nmax > 1 else np.zeros(F), min(self.n_blocks, F)) if F >= 2 else (0.0, np.nan)
        agg_series = frac[:, 2:].sum(axis=1)
        agg, ae = block_average(agg_series, min(self.n_blocks, F)) if F >= 2 else (agg_series.mean(), np.nan)
        smax = max(len(s) for s in self._sizes)
        counts = np.zeros(smax)
        largest = []
        for s in self._sizes:
            counts[: len(s)] += s
            largest.append(np.flatnonzero(s)[-1])
        ions_in_size = counts * np.arange(smax)
        self.results.update(
            time_ps=self.trajectory.time_ps[self.frames],
            close_contacts=self._cc, close_contacts_total=int(self._cc.sum()),
            frames_with_close_contact=int(np.sum(self._cc > 0)), close_contact_A=self.close_contact_A,
            min_cation_cation_A=self._dmin,
            anions_per_cation_fraction={k: float(v) for k, v in enumerate(frac.mean(axis=0))},
            free_fraction=float(free), free_fraction_err=float(fe),
            contact_pair_fraction=float(cip), contact_pair_fraction_err=float(ce),
            aggregate_fraction=float(agg), aggregate_fraction_err=float(ae),
            cluster_size_fraction={k: float(v) for k, v in enumerate(ions_in_size / ions_in_size.sum()) if v > 0},
            mean_cluster_size=float(ions_in_size.sum() / counts.sum()),
            largest_cluster_mean=float(np.mean(largest)), cutoff_A=self.cutoff_A,
        )
