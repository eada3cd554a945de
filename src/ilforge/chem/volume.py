"""Molecular volumes for density estimates.

Liquid molar volume per formula unit is estimated as V ≈ k Σ_i V_vdW,i with RDKit van der Waals
volumes (grid integration, Å³) and a packing factor k = 1.53, calibrated here on EMIM-BF4,
BMIM-BF4, EMIM-TFSI, BMIM-TFSI and EAN at 298 K (experimental densities from ILThermo fits,
spread ±3 %). Monatomic ions use Shannon ionic radii (R. D. Shannon, Acta Cryst. A32, 751 (1976),
six-coordinate) instead of neutral-atom van der Waals radii, which overestimate Li+ sixfold.
Temperature dependence: V(T) = V(298.15 K) (1 + α (T - 298.15)), α = 6e-4 1/K, typical of ILs.
"""

from __future__ import annotations

import functools
import math

from ilforge.chem.geometry import species_geometry
from ilforge.chem.species import Species

PACKING_FACTOR = 1.53
THERMAL_EXPANSION_PER_K = 6.0e-4
T_REF_K = 298.15

#: Shannon ionic radii (Å), CN 6
IONIC_RADII_A = {"Li": 0.76, "Na": 1.02, "K": 1.38, "Mg": 0.72, "Ca": 1.00, "Zn": 0.74, "Cl": 1.81, "Br": 1.96, "I": 2.20, "F": 1.33}


@functools.lru_cache(maxsize=256)
def vdw_volume_A3(sp: Species) -> float:
    """Van der Waals volume of one molecule, Å³ (ionic-radius sphere for monatomic ions)."""
    if sp.n_atoms == 1 and sp.charge != 0 and sp.symbols[0] in IONIC_RADII_A:
        return 4.0 / 3.0 * math.pi * IONIC_RADII_A[sp.symbols[0]] ** 3
    from rdkit.Chem import AllChem
    from rdkit.Geometry import Point3D

    mol = sp.rdkit_mol()
    geo = species_geometry(sp)
    conf = __import__("rdkit.Chem", fromlist=["Conformer"]).Conformer(mol.GetNumAtoms())
    for i, p in enumerate(geo.positions):
        conf.SetAtomPosition(i, Point3D(*map(float, p)))
    mol.RemoveAllConformers()
    mol.AddConformer(conf)
    return float(AllChem.ComputeMolVolume(mol, gridSpacing=0.2))


def liquid_volume_A3(counts: dict[str, int], species: dict[str, Species], temperature_K: float) -> float:
    """Estimated liquid volume (Å³) of a box with molecule ``counts`` at ``temperature_K``."""
    v298 = PACKING_FACTOR * sum(n * vdw_volume_A3(species[s]) for s, n in counts.items())
    return v298 * (1.0 + THERMAL_EXPANSION_PER_K * (temperature_K - T_REF_K))
