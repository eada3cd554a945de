"""Mean-squared displacement by the FFT algorithm, and the fit of its diffusive regime.

MSD(m) = 1/(F-m) Σ_k |r(k+m) - r(k)|² for lag m over F frames, evaluated in O(F log F) as
MSD(m) = S1(m) - 2 S2(m) with S1 from cumulative sums of |r(k)|² and S2 the position
autocorrelation computed with a zero-padded FFT (Kneller, Keiner, Kneller, Schmidt, Comput. Phys.
Commun. 91, 191 (1995), the nMoldyn algorithm; Calandrini, Pellegrini, Calligari, Hinsen, Kneller,
Collection SFN 12, 201 (2011); the same algorithm as MDAnalysis' ``EinsteinMSD(fft=True)``).
All particles and the three Cartesian components go through one batched FFT.
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisError

#: particles per FFT batch (memory ~ 2F x batch x 3 complex numbers)
FFT_BATCH = 512


def _rows(x: np.ndarray) -> np.ndarray:
    """(F, P, 3) -> (P*3, F) contiguous time series, each shifted to zero mean.

    The MSD is invariant under a constant shift of each particle's coordinates; removing the mean
    keeps S1 and S2 of the size of the MSD itself, which avoids cancellation between them.
    """
    F, P, D = x.shape
    y = np.ascontiguousarray(x.transpose(1, 2, 0)).reshape(P * D, F)
    return y - y.mean(axis=1, keepdims=True)


def _s1(d: np.ndarray) -> np.ndarray:
    """S1(m) = (2 Σ_k D(k) - Σ_{k<m} D(k) - Σ_{k>=F-m} D(k)) / (F-m) for D (..., F)."""
    F = d.shape[-1]
    c = np.concatenate([np.zeros(d.shape[:-1] + (1,)), np.cumsum(d, axis=-1)], axis=-1)
    m = np.arange(F)
    total = c[..., F:F + 1]
    return (2.0 * total - c[..., m] - (total - c[..., F - m])) / (F - m)


def _series(positions) -> np.ndarray:
    """Positions as (F, P, 3) floats (a single particle's (F, 3) gets P = 1); at least 2 frames."""
    x = np.asarray(positions, dtype=float)
    if x.ndim == 2:
        x = x[:, None, :]
    if x.shape[0] < 2:
        raise AnalysisError("an MSD needs at least 2 frames")
    return x


def msd_fft(positions) -> np.ndarray:
    """Per-particle MSD for all lags.

    positions: (F, P, 3) unwrapped coordinates (Å). Returns (F, P) in Å²; lag m is row m.
    """
    from scipy import fft as sfft

    x = _series(positions)
    F, P, D = x.shape
    n_fft = sfft.next_fast_len(2 * F, real=True)
    out = np.empty((P, F))
    for p0 in range(0, P, FFT_BATCH):
        y = _rows(x[:, p0:p0 + FFT_BATCH])  # (p*D, F)
        X = sfft.rfft(y, n=n_fft, axis=-1)
        power = (X.real**2 + X.imag**2).reshape(-1, D, X.shape[-1]).sum(axis=1)  # Σ over dimensions
        s2 = sfft.irfft(power, n=n_fft, axis=-1)[:, :F] / (F - np.arange(F))
        s1 = _s1((y * y).reshape(-1, D, F).sum(axis=1))
        out[p0:p0 + FFT_BATCH] = s1 - 2.0 * s2
    out[:, 0] = 0.0
    return out.T


def msd_fft_mean(positions) -> np.ndarray:
    """MSD averaged over particles, (F,) in Å² — one FFT per coordinate series, and the power
    spectra summed over particles and dimensions before a single inverse FFT (linearity)."""
    from scipy import fft as sfft

    x = _series(positions)
    F, P, D = x.shape
    n_fft = sfft.next_fast_len(2 * F, real=True)
    power = np.zeros(n_fft // 2 + 1)
    d = np.zeros(F)
    for p0 in range(0, P, FFT_BATCH):
        y = _rows(x[:, p0:p0 + FFT_BATCH])
        X = sfft.rfft(y, n=n_fft, axis=-1)
        power += (X.real**2 + X.imag**2).sum(axis=0)
        d += (y * y).sum(axis=0)
    s2 = sfft.irfft(power, n=n_fft)[:F] / (F - np.arange(F))
    out = (_s1(d) - 2.0 * s2) / P
    out[0] = 0.0
    return out


def msd_direct(positions) -> np.ndarray:
    """Reference O(F²) windowed MSD, same shapes as :func:`msd_fft` (for tests)."""
    x = np.asarray(positions, dtype=float)
    if x.ndim == 2:
        x = x[:, None, :]
    F = x.shape[0]
    out = np.zeros((F, x.shape[1]))
    for m in range(1, F):
        d = x[m:] - x[:-m]
        out[m] = (d * d).sum(axis=2).mean(axis=0)
    return out


def loglog_slope(t, msd) -> np.ndarray:
    """Local exponent β(t) = d ln MSD / d ln t (central differences on the lag grid; NaN at t = 0)."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(msd, dtype=float)
    beta = np.full_like(y, np.nan)
    ok = (t > 0) & (y > 0)
    if ok.sum() >= 3:
        beta[ok] = np.gradient(np.log(y[ok]), np.log(t[ok]))
    return beta


def diffusive_window(t, msd, tol: float = 0.15, max_fraction: float = 0.5, min_points: int = 5,
                     min_msd_A2: float = 1.0) -> tuple[int, int, bool]:
    """Index range [i0, i1) of lags to fit: the longest run of lags up to ``max_fraction`` of the
    trajectory where the smoothed log-log slope is within 1 ± ``tol`` (diffusive regime) and the
    MSD is at least ``min_msd_A2`` (Å²). The second condition rejects the ballistic-to-caging
    crossover of short runs, where the slope passes through 1 while molecules have moved only a
    fraction of an ångström.

    Returns (i0, i1, diffusive). When no such run exists, (10 %, 50 %) of the lags and False.
    Long lags are excluded because they average over few time origins.
    """
    t = np.asarray(t, dtype=float)
    n = len(t)
    i_end = max(min_points + 1, int(n * max_fraction))
    beta = loglog_slope(t[:i_end], msd[:i_end])
    # smooth the exponent over ~5 % of the range to ignore noise
    w = max(1, i_end // 20)
    if w > 1:
        b = np.where(np.isnan(beta), 1e9, beta)
        beta = np.convolve(b, np.ones(w) / w, mode="same")
    good = (np.abs(beta - 1.0) <= tol) & (np.asarray(msd[:i_end], dtype=float) >= min_msd_A2)
    best, cur_start, best_range = 0, None, None
    for i, g in enumerate(good):
        if g and cur_start is None:
            cur_start = i
        if (not g or i == len(good) - 1) and cur_start is not None:
            stop = i + 1 if g else i
            if stop - cur_start > best:
                best, best_range = stop - cur_start, (cur_start, stop)
            cur_start = None
    if best_range is not None and best >= min_points:
        return best_range[0], best_range[1], True
    return max(1, n // 10), max(n // 10 + min_points, n // 2), False


def fit_slope(t, y, i0: int, i1: int) -> tuple[float, float]:
    """Least-squares line y = a + b t on [i0, i1): returns (b, a)."""
    tt, yy = np.asarray(t)[i0:i1], np.asarray(y)[i0:i1]
    if len(tt) < 2:
        raise AnalysisError("the MSD fit window holds fewer than 2 lags; widen msd_fit_window_ps or run longer")
    b, a = np.polyfit(tt, yy, 1)
    return float(b), float(a)
