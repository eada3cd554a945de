"""Self-diffusion coefficients of each species from the MSD of molecular centres of mass.

D = lim MSD(t) / (6 t) for 3D, fitted by least squares where the MSD is diffusive (log-log slope
near 1, see :func:`ilforge.analysis.msd.diffusive_window`) up to half a block (1/(2 n_blocks) of
the run), or in a user-given window. The uncertainty comes from the ``n_blocks`` trajectory blocks,
each fitted alone on the same lags: σ = t_{n-1}(0.8413) std(D_blocks)/√n (:func:`block_error`),
calibrated on random walks to cover the true D ~68 % of the time (benchmarks/diffusion_calibration.py).

Finite-size (Yeh & Hummer, J. Phys. Chem. B 108, 15873 (2004)) correction for a cubic box of
edge L with viscosity η:  D_∞ = D_PBC + ξ k_B T / (6 π η L),  ξ = 2.837297.
"""

from __future__ import annotations

import logging

import numpy as np

from ilforge.analysis.base import AnalysisBase, AnalysisError
from ilforge.analysis.blocks import block_split, blocks_of
from ilforge.analysis.geometry import centres_of_mass, molecule_table
from ilforge.analysis.msd import diffusive_window, fit_slope, msd_fft_mean
from ilforge.units import A2_PS_TO_M2_S, A_TO_M, KB_J_K

log = logging.getLogger(__name__)

#: ξ of the Yeh–Hummer correction for a cubic box (Ewald sum of the Oseen tensor)
YEH_HUMMER_XI = 2.837297


def yeh_hummer_correction_m2_s(temperature_K: float, viscosity_Pa_s: float, box_length_A: float) -> float:
    """ξ k_B T / (6 π η L) in m²/s (T in K, η in Pa s, L in Å)."""
    if viscosity_Pa_s <= 0:
        raise AnalysisError(f"viscosity must be positive (Pa s), got {viscosity_Pa_s}")
    return YEH_HUMMER_XI * KB_J_K * temperature_K / (6.0 * np.pi * viscosity_Pa_s * box_length_A * A_TO_M)


def trajectory_temperature_K(trajectory, temperature_K: float | None = None) -> float:
    """The temperature of a run: given, else the thermostat target in its metadata, else the mean kinetic temperature."""
    if temperature_K is not None:
        return float(temperature_K)
    meta_T = trajectory.metadata.get("temperature_K")
    if meta_T is not None:
        return float(meta_T)
    T = trajectory.observables.get("temperature")
    if T is not None and np.all(np.isfinite(T)):
        return float(np.mean(T))
    raise AnalysisError("the temperature of this trajectory is unknown; pass temperature_K")


def species_com_groups(trajectory, species=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Centres of mass (F, M, 3) and, per species, the molecule indices into M."""
    mol_species, _ = molecule_table(trajectory.mol_id, trajectory.mol_species)
    com = centres_of_mass(trajectory.positions, trajectory.masses, trajectory.mol_id)
    names = [str(s) for s in (dict.fromkeys(mol_species) if species is None else species)]
    groups = {}
    for s in names:
        idx = np.flatnonzero(mol_species == s)
        if len(idx) == 0:
            raise AnalysisError(f"species {s} is not in this trajectory (it holds {', '.join(sorted(map(str, set(mol_species))))})")
        groups[s] = idx
    return com, groups


def block_fit_fraction(n_blocks: int) -> float:
    """Longest lag of the default fit window, as a fraction of the run: half a block, 1/(2 n_blocks).

    The whole-run fit and every block fit then use the same lags, so the spread of the block
    estimates measures the error of the whole-run estimate (calibrated on random walks,
    benchmarks/diffusion_calibration.py)."""
    return 0.5 / max(int(n_blocks), 1)


def fit_diffusion(lag_ps, msd_A2, window_ps=None, dims: int = 3, n_blocks: int = 5) -> dict:
    """Fit D = slope / (2 dims) of one MSD curve (Å², lags in ps) by least squares.

    Window: ``window_ps`` (t0, t1) when given; else the diffusive lags (log-log slope 1 ± 0.15,
    MSD >= 1 Å², :func:`ilforge.analysis.msd.diffusive_window`) up to half a block
    (:func:`block_fit_fraction`); when the MSD is not yet diffusive there, up to half the run
    (then no block error can be formed). Returns D_A2_ps, window indices [i0, i1) and ``diffusive``.
    """
    lag_ps = np.asarray(lag_ps)
    if window_ps is None:
        i0, i1, diffusive = diffusive_window(lag_ps, msd_A2, max_fraction=block_fit_fraction(n_blocks))
        if not diffusive:
            i0, i1, diffusive = diffusive_window(lag_ps, msd_A2, max_fraction=0.5)
    else:
        i0 = int(np.searchsorted(lag_ps, window_ps[0]))
        i1 = int(np.searchsorted(lag_ps, window_ps[1], side="right"))
        diffusive = True
    slope, _ = fit_slope(lag_ps, msd_A2, i0, i1)
    return {"D_A2_ps": slope / (2 * dims), "i0": i0, "i1": i1, "diffusive": diffusive}


def block_slopes(series, lag_ps, blocks, window_ps) -> list[float]:
    """MSD slopes (units of the series² per ps) of each block of ``series`` (F, M, 3) fitted on the
    lags of ``window_ps``; blocks too short to hold the window (beyond half a block) are skipped."""
    out = []
    for b in blocks:
        lb = lag_ps[: b.stop - b.start]
        i0 = int(np.searchsorted(lb, window_ps[0]))
        i1 = int(np.searchsorted(lb, window_ps[1], side="right"))
        if i1 <= len(lb) // 2 + 1 and i1 - i0 >= 2:
            out.append(fit_slope(lb, msd_fft_mean(series[b]), i0, i1)[0])
    return out


def block_error(values, n_blocks: int) -> float:
    """1σ error of a whole-run estimate from its per-block estimates: Student-t inflated standard
    error t_{n-1}(0.8413) · std(values, ddof=1) / sqrt(n), so that ±σ covers the true value 68 % of
    the time although the spread is estimated from few blocks. NaN unless all ``n_blocks`` blocks
    gave an estimate."""
    from scipy.stats import t as student_t

    v = np.asarray(values, dtype=float)
    if len(v) < max(2, n_blocks):
        return float("nan")
    return float(student_t.ppf(0.5 + 0.5 * 0.682689492, len(v) - 1) * blocks_of(v)[1])


class SelfDiffusion(AnalysisBase):
    """Self-diffusion of each species from centre-of-mass MSDs (FFT), with block errors.

    results: ``lag_ps`` (F,), ``msd_A2`` {species: (F,)}, ``D_m2_s``, ``D_err_m2_s``,
    ``fit_window_ps`` {species: (t0, t1)}, ``diffusive`` {species: bool}, ``box_length_A``,
    ``temperature_K`` and, with a viscosity, ``D_yeh_hummer_m2_s`` and ``yeh_hummer_correction_m2_s``.
    """

    def __init__(self, trajectory, species=None, fit_window_ps=None, n_blocks: int = 5,
                 viscosity_Pa_s: float | None = None, temperature_K: float | None = None):
        super().__init__(trajectory)
        self.species = species
        self.fit_window_ps = fit_window_ps
        self.n_blocks = n_blocks
        self.viscosity_Pa_s = viscosity_Pa_s
        self.temperature_K = temperature_K

    def _prepare(self):
        self._dt = self.trajectory.timestep_ps * (self.frames[1] - self.frames[0] if self.n_frames > 1 else 1)

    def _run_frames(self, frames):
        sub = self.trajectory.slice()
        sub.positions = self.trajectory.positions[frames]
        com, self.groups = species_com_groups(sub, self.species)
        self._com = com

    def _conclude(self):
        F = self.n_frames
        lag = np.arange(F) * self._dt
        r = self.results
        r["lag_ps"] = lag
        r.update(msd_A2={}, D_m2_s={}, D_err_m2_s={}, fit_window_ps={}, diffusive={}, n_molecules={})
        blocks = block_split(F, self.n_blocks)
        for s, idx in self.groups.items():
            msd = msd_fft_mean(self._com[:, idx])
            fit = fit_diffusion(lag, msd, self.fit_window_ps, n_blocks=self.n_blocks)
            w = (lag[fit["i0"]], lag[fit["i1"] - 1])
            per_block = [b / 6.0 for b in block_slopes(self._com[:, idx], lag, blocks, w)]
            if not fit["diffusive"]:
                log.warning("MSD of %s is not diffusive (log-log slope never near 1) within half the run; D is a rough estimate. Run longer.", s)
            elif len(per_block) < self.n_blocks:
                log.warning("%s: the fit window %.3g-%.3g ps is longer than half a block; no block error. "
                            "Use fewer blocks (--n-blocks) or run longer.", s, w[0], w[1])
            r["msd_A2"][s] = msd
            r["D_m2_s"][s] = fit["D_A2_ps"] * A2_PS_TO_M2_S
            r["D_err_m2_s"][s] = block_error(per_block, self.n_blocks) * A2_PS_TO_M2_S
            r["fit_window_ps"][s] = (float(w[0]), float(w[1]))
            r["diffusive"][s] = bool(fit["diffusive"])
            r["n_molecules"][s] = int(len(idx))
        L = float(np.mean(self.trajectory.volumes_A3[self.frames]) ** (1 / 3))
        r["box_length_A"] = L
        if self.viscosity_Pa_s is not None:
            T = trajectory_temperature_K(self.trajectory, self.temperature_K)
            corr = yeh_hummer_correction_m2_s(T, self.viscosity_Pa_s, L)
            r["temperature_K"] = T
            r["viscosity_Pa_s"] = float(self.viscosity_Pa_s)
            r["yeh_hummer_correction_m2_s"] = corr
            r["D_yeh_hummer_m2_s"] = {s: d + corr for s, d in r["D_m2_s"].items()}
