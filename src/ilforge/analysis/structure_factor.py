"""X-ray structure factor S(q) in the Faber–Ziman formalism from partial RDFs, and the R-factor.

Partial structure factors (Lorch-windowed Fourier transform of g_ab):
    S_ab(q) = 1 + 4π ρ ∫_0^R r² [g_ab(r) - 1] sin(qr)/(qr) L(r) dr,   L(r) = sin(πr/R)/(πr/R)
(Lorch, J. Phys. C 2, 229 (1969)), ρ the total number density, R the RDF cutoff.
Faber–Ziman total (Faber & Ziman, Phil. Mag. 11, 153 (1965)):
    S(q) = 1 + Σ_ab c_a c_b f_a(q) f_b(q) [S_ab(q) - 1] / (Σ_a c_a f_a(q))²
with atom fractions c_a and Waasmaier–Kirfel form factors f_a (:mod:`form_factors`); the double
sum runs over ordered pairs (a, b) and (b, a).
R-factor against an experiment (Wright, J. Non-Cryst. Solids 159, 264 (1993)):
    R = sqrt( Σ_q [S_sim(q) - S_exp(q)]² / Σ_q S_exp(q)² )  on the experimental q grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ilforge.analysis.base import AnalysisError
from ilforge.analysis.form_factors import form_factor
from ilforge.analysis.rdf import PairRDFs


def partial_sq(r_A, g, q_A, rho_A3: float, rmax_A: float, lorch: bool = True) -> np.ndarray:
    """S_ab(q) from one partial g_ab(r) on a uniform r grid (bin centres)."""
    r = np.asarray(r_A, dtype=float)
    dr = r[1] - r[0]
    q = np.asarray(q_A, dtype=float)
    window = np.sinc(r / rmax_A) if lorch else np.ones_like(r)  # np.sinc(x) = sin(πx)/(πx)
    qr = np.outer(q, r)
    kernel = np.sinc(qr / np.pi)  # sin(qr)/(qr)
    return 1.0 + 4.0 * np.pi * rho_A3 * (kernel * (r**2 * (np.asarray(g) - 1.0) * window)).sum(axis=1) * dr


def faber_ziman(q_A, partials: dict, concentrations: dict, r_A, rho_A3: float, rmax_A: float, lorch: bool = True) -> np.ndarray:
    """Total X-ray S(q) from partial g_ab (keys (a, b), each unordered pair once)."""
    q = np.asarray(q_A, dtype=float)
    f = {e: form_factor(e, q) for e in concentrations}
    mean_f = sum(concentrations[e] * f[e] for e in concentrations)
    total = np.zeros_like(q)
    for (a, b), g in partials.items():
        mult = 1.0 if a == b else 2.0
        total += mult * concentrations[a] * concentrations[b] * f[a] * f[b] * (partial_sq(r_A, g, q, rho_A3, rmax_A, lorch) - 1.0)
    return 1.0 + total / mean_f**2


def r_factor(s_sim, s_exp) -> float:
    """R = sqrt(Σ (S_sim - S_exp)² / Σ S_exp²)."""
    s_sim, s_exp = np.asarray(s_sim, float), np.asarray(s_exp, float)
    return float(np.sqrt(np.sum((s_sim - s_exp) ** 2) / np.sum(s_exp**2)))


def read_sq(path) -> tuple[np.ndarray, np.ndarray]:
    """Two-column text file (q in Å⁻¹, S(q)); '#' comments; sorted by q, duplicate q averaged."""
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"experimental S(q) file {path} not found")
    data = np.loadtxt(path, comments="#")
    if data.ndim != 2 or data.shape[1] < 2:
        raise AnalysisError(f"{path}: expected two columns, q (1/Å) and S(q)")
    q, s = data[:, 0], data[:, 1]
    order = np.argsort(q, kind="stable")
    q, s = q[order], s[order]
    uq, inv = np.unique(q, return_inverse=True)
    return uq, np.bincount(inv, weights=s) / np.bincount(inv)


class XRayStructureFactor:
    """S(q) of a trajectory from its element-pair partial RDFs; optional R-factor vs an experiment.

    results: ``q_A`` (Å⁻¹), ``S``, and with ``experiment`` (path or (q, S)): ``q_exp_A``, ``S_exp``,
    ``S_on_exp_grid``, ``R_factor``.
    """

    def __init__(self, trajectory, rmax_A: float | None = None, nbins: int = 400, q_A=None, lorch: bool = True, experiment=None):
        from ilforge.analysis.geometry import max_cutoff

        self.trajectory = trajectory
        self.rmax_A = rmax_A if rmax_A is not None else 0.999 * min(max_cutoff(c) for c in trajectory.cells)
        self.nbins, self.lorch = nbins, lorch
        self.q = np.linspace(0.2, 12.0, 591) if q_A is None else np.asarray(q_A, float)
        self.experiment = experiment
        self.results: dict = {}

    def run(self, start=None, stop=None, step=None):
        pr = PairRDFs(self.trajectory, self.rmax_A, self.nbins).run(start, stop, step).results
        args = (pr["g"], pr["concentrations"], pr["r_A"], pr["number_density_A3"], self.rmax_A, self.lorch)
        self.results.update(q_A=self.q, S=faber_ziman(self.q, *args), rmax_A=self.rmax_A)
        if self.experiment is not None:
            q_exp, s_exp = read_sq(self.experiment) if isinstance(self.experiment, (str, Path)) else map(np.asarray, self.experiment)
            s_sim = faber_ziman(q_exp, *args)
            self.results.update(q_exp_A=q_exp, S_exp=s_exp, S_on_exp_grid=s_sim, R_factor=r_factor(s_sim, s_exp))
        return self
