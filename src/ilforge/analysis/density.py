"""Mass density time series and its block-averaged mean; isothermal compressibility from volume fluctuations.

ρ(t) = Σ m_i / V(t)  (g/cm³).  κ_T = (⟨V²⟩ - ⟨V⟩²) / (k_B T ⟨V⟩)  in the NPT ensemble
(e.g. Allen & Tildesley, Computer Simulation of Liquids, 2nd ed., eq. 2.75), reported in GPa⁻¹.
"""

from __future__ import annotations

import numpy as np

from ilforge.analysis.base import AnalysisBase, AnalysisError
from ilforge.analysis.blocks import block_average, block_split
from ilforge.analysis.diffusion import trajectory_temperature_K
from ilforge.units import GPA, KB_EV_K


def kappa_T_fluctuation_GPa(volumes_A3, temperature_K: float) -> float:
    """κ_T = var(V) / (k_B T ⟨V⟩) in GPa⁻¹ (V in Å³)."""
    v = np.asarray(volumes_A3, dtype=float)
    kappa_A3_eV = v.var() / (KB_EV_K * temperature_K * v.mean())
    return float(kappa_A3_eV * GPA)


class Density(AnalysisBase):
    """Density time series, mean ± block standard error; with ``fluctuations=True`` also κ_T from
    volume fluctuations (meaningful for NPT runs only).

    results: ``time_ps``, ``density_g_cm3`` (F,), ``density_mean_g_cm3``, ``density_err_g_cm3``,
    ``volume_mean_A3`` and optionally ``kappa_T_fluct_GPa-1``, ``kappa_T_fluct_err_GPa-1``.
    """

    def __init__(self, trajectory, n_blocks: int = 5, fluctuations: bool = False, temperature_K: float | None = None):
        super().__init__(trajectory)
        self.n_blocks, self.fluctuations, self.temperature_K = n_blocks, fluctuations, temperature_K

    def _run_frames(self, frames):
        self._vol = self.trajectory.volumes_A3[frames]
        self._rho = self.trajectory.densities_g_cm3[frames]

    def _conclude(self):
        mean, err = block_average(self._rho, self.n_blocks)
        r = self.results
        r.update(time_ps=self.trajectory.time_ps[self.frames], density_g_cm3=self._rho,
                 density_mean_g_cm3=float(mean), density_err_g_cm3=float(err), volume_mean_A3=float(self._vol.mean()))
        if self.fluctuations:
            if np.allclose(self._vol, self._vol[0]):
                raise AnalysisError("the volume does not fluctuate (NVT/NVE run?): κ_T from fluctuations needs an NPT trajectory")
            T = trajectory_temperature_K(self.trajectory, self.temperature_K)
            per_block = [kappa_T_fluctuation_GPa(self._vol[b], T) for b in block_split(len(self._vol), self.n_blocks)]
            r["kappa_T_fluct_GPa-1"] = kappa_T_fluctuation_GPa(self._vol, T)
            r["kappa_T_fluct_err_GPa-1"] = float(np.std(per_block, ddof=1) / np.sqrt(len(per_block)))
            r["temperature_K"] = T
