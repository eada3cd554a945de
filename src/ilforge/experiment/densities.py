"""Experimental densities of known liquids, used as packing targets by the box builder.

An entry applies to a box when the box's species counts are proportional to the entry's counts
(within 2 % per species, so that e.g. 21 m LiTFSI(aq) boxes with rounded water counts match).
ρ(T) = ρ_ref + (dρ/dT)(T - T_ref) at 0.1 MPa, in g/cm³.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml

#: how far (K) beyond the measured range a linear extrapolation is still used
MAX_EXTRAPOLATION_K = 50.0
#: relative tolerance on the proportionality of counts
RATIO_TOL = 0.02


@dataclass(frozen=True)
class DensityEntry:
    name: str
    counts: tuple[tuple[str, int], ...]
    T_ref_K: float
    rho_ref_g_cm3: float
    slope_g_cm3_K: float
    valid_K: tuple[float, float]
    citation: str

    def density_g_cm3(self, temperature_K: float) -> float:
        return self.rho_ref_g_cm3 + self.slope_g_cm3_K * (temperature_K - self.T_ref_K)

    def matches(self, counts: dict[str, int]) -> bool:
        mine = dict(self.counts)
        if set(k for k, v in counts.items() if v > 0) != set(mine):
            return False
        names = sorted(mine)
        a = np.array([mine[s] for s in names], dtype=float)
        b = np.array([counts[s] for s in names], dtype=float)
        scale = b.sum() / a.sum()
        return bool(np.all(np.abs(b - scale * a) <= RATIO_TOL * scale * a + 0.5))


@functools.lru_cache(maxsize=1)
def density_table() -> tuple[DensityEntry, ...]:
    data = yaml.safe_load(resources.files("ilforge.experiment").joinpath("data/densities.yaml").read_text())
    return tuple(
        DensityEntry(
            e["name"],
            tuple(sorted(e["counts"].items())),
            float(e["T_ref_K"]),
            float(e["rho_ref_g_cm3"]),
            float(e["slope_g_cm3_K"]),
            tuple(e["valid_K"]),
            e["citation"],
        )
        for e in data["systems"]
    )


def experimental_density(counts: dict[str, int], temperature_K: float) -> tuple[float, str] | None:
    """(ρ in g/cm³, source text) for a box of this composition at ``temperature_K``, or None."""
    for entry in density_table():
        if not entry.matches(counts):
            continue
        lo, hi = entry.valid_K
        if not lo - MAX_EXTRAPOLATION_K <= temperature_K <= hi + MAX_EXTRAPOLATION_K:
            continue
        extrap = "" if lo <= temperature_K <= hi else f", linearly extrapolated beyond {lo:g}-{hi:g} K"
        return entry.density_g_cm3(temperature_K), f"experiment ({entry.name}: {entry.citation}{extrap})"
    return None
