"""Every unit constant and conversion of ilforge, built on :mod:`ase.units`.

Inside ilforge quantities are in ASE units: energy eV, length Å, time in ASE time units
(``fs`` converts), temperature K, mass amu, charge e. Public parameters carry their unit in
their name (``temperature_K``, ``timestep_fs``, ``pressure_bar``, ``density_g_cm3``); convert
with the constants here and nowhere else.
"""

from __future__ import annotations

from ase import units as _u

#: Avogadro constant, 1/mol (CODATA, as ASE)
AVOGADRO = _u._Nav
#: Boltzmann constant, eV/K
KB_EV_K = _u.kB
#: 1 fs in ASE time units
FS = _u.fs
#: 1 ps in ASE time units
PS = 1000.0 * _u.fs
#: 1 bar in eV/Å^3
BAR = _u.bar
#: 1 GPa in eV/Å^3
GPA = _u.GPa
#: 1 kJ/mol in eV
KJ_MOL = _u.kJ / _u.mol
#: 1 kcal/mol in eV
KCAL_MOL = _u.kcal / _u.mol
#: 1 Hartree in eV
HARTREE = _u.Hartree
#: 1 Bohr in Å
BOHR = _u.Bohr
#: 1 nm in Å
NM = 10.0
#: 1 Å in nm (OpenMM lengths)
A_TO_NM = 1.0 / NM
#: 1 kcal in kJ (thermochemical calorie)
KCAL_TO_KJ = KCAL_MOL / KJ_MOL
#: 1 bar in MPa
BAR_TO_MPA = 0.1
#: elementary charge in C
ELEMENTARY_CHARGE_C = _u._e
#: 1 amu/Å^3 in g/cm^3  (1 amu = 1/N_A g; 1 Å^3 = 1e-24 cm^3)
AMU_A3_TO_G_CM3 = 1.0 / (AVOGADRO * 1e-24)
#: 1 g/cm^3 in kg/m^3 (:func:`kg_m3_to_g_cm3` divides by it)
G_CM3_TO_KG_M3 = 1000.0
#: 1 Å^2/ps in m^2/s
A2_PS_TO_M2_S = 1e-20 / 1e-12


def density_g_cm3(total_mass_amu: float, volume_A3: float) -> float:
    """Mass density ρ = m / V in g/cm³ from a mass in amu and a volume in Å³."""
    return total_mass_amu / volume_A3 * AMU_A3_TO_G_CM3


def volume_A3_for_density(total_mass_amu: float, density_g_cm3_: float) -> float:
    """Volume in Å³ that holds ``total_mass_amu`` at ``density_g_cm3_`` (inverse of :func:`density_g_cm3`)."""
    return total_mass_amu * AMU_A3_TO_G_CM3 / density_g_cm3_


def kg_m3_to_g_cm3(value: float) -> float:
    """kg/m³ → g/cm³."""
    return value / G_CM3_TO_KG_M3


def ev_per_a3_to_gpa(value: float) -> float:
    """Stress or pressure, eV/Å³ → GPa."""
    return value / GPA


# --- plain factors between SI-prefixed units --------------------------------------------------
#: 1 eV in meV (error metrics are reported in meV/atom, meV/Å, meV/Å³)
EV_TO_MEV = 1000.0
#: 1 ps in fs (time-unit names: ``x_ps * PS_TO_FS`` is in fs)
PS_TO_FS = 1000.0
#: 1 fs in ps
FS_TO_PS = 1.0 / PS_TO_FS
#: 1 Å in m
A_TO_M = 1e-10
#: 1 Å^3 in m^3
A3_TO_M3 = 1e-30
#: 1 /MPa in 1/GPa (compressibilities)
PER_MPA_TO_PER_GPA = 1e3
#: Boltzmann constant, J/K (k_B in eV/K times the elementary charge in C)
KB_J_K = KB_EV_K * ELEMENTARY_CHARGE_C
#: femtoseconds to nanoseconds (MD speed in ns/day)
FS_TO_NS = 1e-6
#: picoseconds to nanoseconds (MD speed in ns/day)
PS_TO_NS = 1e-3
#: seconds in a day (MD speed in ns/day)
S_PER_DAY = 86400.0
