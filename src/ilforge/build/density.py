"""Target density of a packed box: the recipe's override, else experiment, else an estimate.

Returns the density in g/cm³ and a text saying where it came from (stored with the box).
"""

from __future__ import annotations

from ilforge.chem.species import Species
from ilforge.chem.volume import PACKING_FACTOR, liquid_volume_A3
from ilforge.experiment.densities import experimental_density
from ilforge.units import density_g_cm3


def target_density(
    counts: dict[str, int], species: dict[str, Species], temperature_K: float, override_g_cm3: float | None = None
) -> tuple[float, str]:
    """(ρ in g/cm³, source) of a box with molecule ``counts`` at ``temperature_K``."""
    if override_g_cm3 is not None:
        return float(override_g_cm3), "recipe (box.density_g_cm3)"
    exp = experimental_density(counts, temperature_K)
    if exp is not None:
        return exp
    mass = sum(n * species[s].mass_amu for s, n in counts.items())
    rho = density_g_cm3(mass, liquid_volume_A3(counts, species, temperature_K))
    return rho, (
        f"estimate (RDKit van der Waals volumes x {PACKING_FACTOR} packing factor, "
        f"ionic radii for monatomic ions, thermal expansion 6e-4 1/K; expect +-5 %)"
    )
