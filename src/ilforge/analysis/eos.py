"""Equation-of-state fits over state points: density vs temperature and the Tait equation.

Linear fit ρ(T) = ρ_ref + (dρ/dT)(T - T_ref) (weighted by 1/σ² when errors are given); the
volumetric thermal expansion coefficient α_P = -(1/ρ)(∂ρ/∂T)_P at T_ref, in K⁻¹.

Tait equation (Dymond & Malhotra, Int. J. Thermophys. 9, 941 (1988)) at fixed T:
    ρ(P) = ρ0 / (1 - C ln((B + P)/(B + P0))),   P0 = 0.1 MPa,
and κ_T = (1/ρ)(∂ρ/∂P)_T = C / [(B + P)(1 - C ln((B + P)/(B + P0)))], so κ_T(P0) = C/(B + P0).
With fewer than four pressures C is fixed at the near-universal 0.0894 (Dymond & Malhotra).
Pressures in MPa here (bar / 10), κ_T reported in GPa⁻¹.
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisError
from ilforge.units import BAR_TO_MPA, PER_MPA_TO_PER_GPA

P0_MPA = 1.0 * BAR_TO_MPA  # the reference pressure P0 = 1 bar (0.1 MPa)
TAIT_C_UNIVERSAL = 0.0894


def linear_density_fit(temperatures_K, densities, errors=None, T_ref_K: float = 298.15) -> dict:
    """Fit ρ(T); returns drho_dT (unit of ρ per K) with its standard error, rho_at_Tref, alpha_K-1 (±)."""
    T = np.asarray(temperatures_K, dtype=float)
    rho = np.asarray(densities, dtype=float)
    if len(T) < 2 or np.ptp(T) == 0:
        raise AnalysisError("a density-temperature fit needs at least two different temperatures")
    w = None if errors is None else 1.0 / np.asarray(errors, dtype=float)
    x = T - T_ref_K
    if len(T) > 2:
        (b, a), cov = np.polyfit(x, rho, 1, w=w, cov="unscaled" if w is not None else True)
        db, da = np.sqrt(np.diag(cov))
    else:
        b, a = np.polyfit(x, rho, 1)
        db = da = float("nan")
    alpha = -b / a
    alpha_err = abs(alpha) * np.sqrt((db / b) ** 2 + (da / a) ** 2) if np.isfinite(db) and b != 0 else float("nan")
    return {"drho_dT": float(b), "drho_dT_err": float(db), "rho_at_Tref": float(a), "rho_at_Tref_err": float(da),
            "T_ref_K": float(T_ref_K), "alpha_K-1": float(alpha), "alpha_err_K-1": float(alpha_err)}


def tait_density(P_MPa, rho0, B_MPa, C):
    """ρ(P) of the Tait equation (ρ0 at P0 = 0.1 MPa)."""
    P = np.asarray(P_MPa, dtype=float)
    return rho0 / (1.0 - C * np.log((B_MPa + P) / (B_MPa + P0_MPA)))


def tait_kappa_T_GPa(P_MPa, B_MPa, C) -> np.ndarray:
    """κ_T(P) of the Tait equation in GPa⁻¹."""
    P = np.asarray(P_MPa, dtype=float)
    kappa_per_MPa = C / ((B_MPa + P) * (1.0 - C * np.log((B_MPa + P) / (B_MPa + P0_MPA))))
    return kappa_per_MPa * PER_MPA_TO_PER_GPA


def tait_fit(pressures_MPa, densities, errors=None, fix_C: float | None = None) -> dict:
    """Fit the Tait equation; returns rho0, B_MPa, C (with standard errors) and kappa_T at P0 in GPa⁻¹."""
    from scipy.optimize import curve_fit

    P = np.asarray(pressures_MPa, dtype=float)
    rho = np.asarray(densities, dtype=float)
    if len(P) < 2 or np.ptp(P) == 0:
        raise AnalysisError("a Tait fit needs densities at two or more different pressures")
    if fix_C is None and len(P) < 4:
        fix_C = TAIT_C_UNIVERSAL
    sigma = None if errors is None else np.asarray(errors, dtype=float)
    rho_guess = float(np.interp(P0_MPA, P[np.argsort(P)], rho[np.argsort(P)]))
    slope = np.polyfit(P, rho, 1)[0]
    C0 = fix_C if fix_C is not None else TAIT_C_UNIVERSAL
    B_guess = max(C0 * rho_guess / max(slope, 1e-12) - P0_MPA, 1.0) if slope > 0 else 200.0
    try:
        if fix_C is not None:
            f = lambda p, r0, B: tait_density(p, r0, B, fix_C)  # noqa: E731
            popt, pcov = curve_fit(f, P, rho, p0=[rho_guess, B_guess], sigma=sigma, absolute_sigma=sigma is not None,
                                   bounds=([0, -P0_MPA * 0.999 + 1e-9], [np.inf, np.inf]), maxfev=20000)
            r0, B, C = popt[0], popt[1], fix_C
            err = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(2, np.nan)
            errs = (err[0], err[1], 0.0)
        else:
            popt, pcov = curve_fit(tait_density, P, rho, p0=[rho_guess, B_guess, C0], sigma=sigma,
                                   absolute_sigma=sigma is not None, bounds=([0, 1e-6, 1e-4], [np.inf, np.inf, 1.0]), maxfev=20000)
            r0, B, C = popt
            errs = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(3, np.nan)
    except RuntimeError as exc:
        raise AnalysisError(f"the Tait fit did not converge ({exc}); check that density rises with pressure") from None
    kappa = float(tait_kappa_T_GPa(P0_MPA, B, C))
    # error of κ_T(P0) = C/(B+P0) by propagation of B and C
    dk = kappa * np.sqrt((errs[1] / (B + P0_MPA)) ** 2 + ((errs[2] / C) ** 2 if C else 0.0))
    return {"rho0": float(r0), "rho0_err": float(errs[0]), "B_MPa": float(B), "B_err_MPa": float(errs[1]),
            "C": float(C), "C_err": float(errs[2]), "C_fixed": fix_C is not None,
            "kappa_T_GPa-1": kappa, "kappa_T_err_GPa-1": float(dk),
            "rms_residual": float(np.sqrt(np.mean((tait_density(P, r0, B, C) - rho) ** 2)))}
