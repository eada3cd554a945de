"""Ionic conductivity: Nernst–Einstein from self-diffusion and Einstein–Helfand (collective).

Nernst–Einstein (uncorrelated ions):   σ_NE = e² / (V k_B T) Σ_s N_s z_s² D_s
Einstein–Helfand (all correlations):   σ_EH = lim_{t→∞} e² / (6 V k_B T t) ⟨|M(t) - M(0)|²⟩,
with the translational dipole M(t) = Σ_m z_m R_m(t) over molecular centres of mass R_m and
formal charges z_m (Helfand, Phys. Rev. 119, 1 (1960); e.g. Schröder, J. Chem. Phys. 135, 024502
(2011)). For uncorrelated ions the cross terms vanish on average and σ_EH = σ_NE; their ratio
σ_EH/σ_NE (the inverse Haven ratio, "ionicity") measures ion correlation.
SI units: V m³, D m²/s, σ S/m.
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisBase, AnalysisError
from ilforge.analysis.blocks import block_split
from ilforge.analysis.diffusion import block_error, block_slopes, fit_diffusion, species_com_groups, trajectory_temperature_K
from ilforge.analysis.msd import fit_slope, msd_fft_mean
from ilforge.units import A2_PS_TO_M2_S, A3_TO_M3, ELEMENTARY_CHARGE_C, KB_J_K


class MissingChargesError(AnalysisError):
    """Some species have no known formal charge; ``species`` lists their names."""

    def __init__(self, species):
        self.species = [str(s) for s in species]
        given = ",".join(f"{s}=<z>" for s in self.species)
        super().__init__(
            f"no formal charge known for species {', '.join(self.species)} (not in the species library): "
            f"give them with `ilforge analyze --charges {given}` (z in e, 0 for neutral species), "
            f"or `analysis: {{charges: {{{self.species[0]}: <z>}}}}` / `species:` entries in the recipe; "
            f"or leave conductivity and ions out of --properties"
        )


def library_charge(name: str) -> float | None:
    """Formal charge (e) of a species of the built-in library, or None when it is not there."""
    from ilforge.chem.species import load_library
    from ilforge.errors import IlforgeError

    try:
        return float(load_library().get(str(name)).charge)
    except IlforgeError:
        return None


def formal_charges(species_names, charges: dict[str, float] | None = None) -> dict[str, float]:
    """Formal charge (e) of each species (plain ``str`` names): from ``charges`` or else the species library.

    Raises :class:`MissingChargesError` naming every species with no known charge.
    """
    given = {str(k): float(v) for k, v in (charges or {}).items()}
    out, missing = {}, []
    for s in map(str, species_names):
        z = given[s] if s in given else library_charge(s)
        if z is None:
            missing.append(s)
        else:
            out[s] = z
    if missing:
        raise MissingChargesError(missing)
    return out


def nernst_einstein_S_m(D_m2_s: dict, counts: dict, charges: dict, volume_A3: float, temperature_K: float) -> float:
    """σ_NE = e²/(V k_B T) Σ_s N_s z_s² D_s in S/m."""
    V = volume_A3 * A3_TO_M3
    s = sum(counts[k] * charges[k] ** 2 * D_m2_s[k] for k in D_m2_s)
    return ELEMENTARY_CHARGE_C**2 * s / (V * KB_J_K * temperature_K)


def einstein_helfand_S_m(slope_e2A2_ps: float, volume_A3: float, temperature_K: float) -> float:
    """σ_EH from the slope of ⟨|ΔM|²⟩ (e² Å²/ps): σ = e² slope / (6 V k_B T) in S/m."""
    return ELEMENTARY_CHARGE_C**2 * slope_e2A2_ps * A2_PS_TO_M2_S / (6.0 * volume_A3 * A3_TO_M3 * KB_J_K * temperature_K)


class Conductivity(AnalysisBase):
    """Nernst–Einstein and Einstein–Helfand conductivities with formal charges, and their ratio.

    results: ``sigma_NE_S_m``, ``sigma_EH_S_m`` (+ ``_err`` from blocks), ``ratio_EH_NE``,
    ``D_m2_s`` {species}, ``lag_ps``, ``msd_M_e2A2`` (F,), ``fit_window_ps``, ``temperature_K``,
    ``volume_A3``, ``charges_e``, ``diffusive`` (True only when every charged species' MSD reached
    its diffusive regime, :func:`ilforge.analysis.msd.diffusive_window`; otherwise both σ are rough
    estimates of a run too short for transport).
    """

    def __init__(self, trajectory, charges: dict[str, float] | None = None, fit_window_ps=None, n_blocks: int = 5,
                 temperature_K: float | None = None):
        super().__init__(trajectory)
        self.charges = charges
        self.fit_window_ps = fit_window_ps
        self.n_blocks = n_blocks
        self.temperature_K = temperature_K

    def _run_frames(self, frames):
        sub = self.trajectory.slice()
        sub.positions = self.trajectory.positions[frames]
        self._com, self.groups = species_com_groups(sub)

    def _conclude(self):
        traj, F = self.trajectory, self.n_frames
        dt = traj.timestep_ps * (self.frames[1] - self.frames[0] if F > 1 else 1)
        lag = np.arange(F) * dt
        T = trajectory_temperature_K(traj, self.temperature_K)
        V = float(np.mean(traj.volumes_A3[self.frames]))
        z = formal_charges(self.groups, self.charges)
        if all(v == 0 for v in z.values()):
            raise AnalysisError("all species are neutral: there is no ionic conductivity to compute")
        zm = np.zeros(self._com.shape[1])
        for s, idx in self.groups.items():
            zm[idx] = z[s]
        charged = {s: idx for s, idx in self.groups.items() if z[s] != 0}
        # self parts -> Nernst-Einstein
        D, windows, diffusive = {}, {}, True
        for s, idx in charged.items():
            fit = fit_diffusion(lag, msd_fft_mean(self._com[:, idx]), self.fit_window_ps, n_blocks=self.n_blocks)
            D[s] = fit["D_A2_ps"] * A2_PS_TO_M2_S
            diffusive = diffusive and bool(fit["diffusive"])
            windows[s] = (lag[fit["i0"]], lag[fit["i1"] - 1])
        counts = {s: len(idx) for s, idx in charged.items()}
        sigma_ne = nernst_einstein_S_m(D, counts, z, V, T)
        # collective part: M(t) = Σ z_m R_m(t)
        M = np.einsum("m,fmk->fk", zm, self._com)
        msd_M = msd_fft_mean(M)
        if self.fit_window_ps is not None:
            w = tuple(self.fit_window_ps)
        else:  # the window in which the self-diffusion of the charged species was fitted
            w = (max(v[0] for v in windows.values()), min(v[1] for v in windows.values()))
            if w[1] <= w[0]:
                w = (lag[F // 10], lag[F // 2])
        i0, i1 = int(np.searchsorted(lag, w[0])), int(np.searchsorted(lag, w[1], side="right"))
        sigma_eh = einstein_helfand_S_m(fit_slope(lag, msd_M, i0, i1)[0], V, T)
        # block errors for both, fitted on the same window (see ilforge.analysis.diffusion.block_error)
        blocks = block_split(F, self.n_blocks)
        Db = {s: np.array(block_slopes(self._com[:, idx], lag, blocks, w)) / 6.0 * A2_PS_TO_M2_S for s, idx in charged.items()}
        n_ok = min(len(v) for v in Db.values())
        ne_b = [nernst_einstein_S_m({s: v[k] for s, v in Db.items()}, counts, z, V, T) for k in range(n_ok)]
        eh_b = [einstein_helfand_S_m(x, V, T) for x in block_slopes(M[:, None, :], lag, blocks, w)]
        self.results.update(
            sigma_NE_S_m=float(sigma_ne), sigma_EH_S_m=float(sigma_eh),
            sigma_NE_err_S_m=block_error(ne_b, self.n_blocks), sigma_EH_err_S_m=block_error(eh_b, self.n_blocks),
            ratio_EH_NE=float(sigma_eh / sigma_ne) if sigma_ne > 0 else float("nan"),
            D_m2_s=D, lag_ps=lag, msd_M_e2A2=msd_M, fit_window_ps=(float(w[0]), float(w[1])),
            temperature_K=T, volume_A3=V, charges_e=z, diffusive=diffusive,
        )
