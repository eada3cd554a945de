"""Does the trained model carry its reference's equation of state? Its molecular virial pressure on
the pre-flight check's snapshots next to the reference's (issue 15: an MLIP that reproduces its
reference's forces but not its pressure lands at another density in NPT).

On each snapshot k of ``results/reference_check.extxyz`` (classical structures at the experimental
density, molecules whole) the model's

    P_mol,k = −tr(σ_k)/3 − (1/3V) Σ_i (r_i − R_M(i))·F_i,k + N_mol k_B T / V

(:func:`ilforge.reference.check.molecular_virial_pressure`, GPa) is compared frame by frame with the
reference's (the check's row of the recipe's labeler). The model *agrees* when the mean difference
|⟨P_model − P_ref⟩| is within the reference's own spread over the snapshots (its standard deviation,
floored at 0.05 GPa so that a near-constant reference does not demand an exactness no MLIP has).
0.05 GPa corresponds to ~1.5 % in density for an ionic liquid (κT ≈ 0.3–0.45 GPa⁻¹).
"""

from __future__ import annotations

import logging

import numpy as np

from ilforge import units
from ilforge.project import REFERENCE_CHECK, Project
from ilforge.reference.check import molecular_virial_pressure

log = logging.getLogger(__name__)

#: smallest tolerance on the mean pressure difference, GPa
MIN_TOLERANCE_GPA = 0.05


def _reference_row(check: dict) -> dict | None:
    """The check's row of the recipe's own labeler (``chosen``) that has pressures."""
    rows = [m for m in check.get("methods", []) if m.get("chosen") and not m.get("skipped")]
    return rows[0] if rows else None


def model_pressures_GPa(calculator, frames, temperature_K: float) -> list[float]:
    """P_mol (GPa) of ``calculator`` (an ASE calculator giving forces and stress) on each frame."""
    out = []
    for fr in frames:
        a = fr.copy()
        a.calc = calculator
        forces, stress = a.get_forces(), a.get_stress(voigt=True)
        out.append(molecular_virial_pressure(a, forces, stress, temperature_K) / units.GPA)
    return out


def model_pressure_check(project: Project, calculator) -> dict | None:
    """The model's pressure next to its reference's on the reference check's snapshots (module
    docstring); None when the project has no reference check with the recipe's labeler (run
    ``ilforge reference check`` first) or its snapshots are missing."""
    import ase.io

    check = project.read_results(REFERENCE_CHECK)
    path = project.result_frames(REFERENCE_CHECK)
    ref = _reference_row(check) if check else None
    if ref is None or not path.is_file():
        return None
    frames = ase.io.read(path, index=":")
    p_ref = np.asarray(ref["frame_pressures_GPa"], dtype=float)
    if len(frames) != len(p_ref):
        log.warning("%s holds %d frames but the check has %d pressures; rerun `ilforge reference check`",
                    path, len(frames), len(p_ref))
        return None
    p_model = np.asarray(model_pressures_GPa(calculator, frames, float(check["temperature_K"])))
    diff = p_model - p_ref
    spread = float(p_ref.std(ddof=1)) if len(p_ref) > 1 else 0.0
    tol = max(spread, MIN_TOLERANCE_GPA)
    return {"reference": ref["name"], "level_of_theory": ref.get("level_of_theory"), "n_frames": len(frames),
            "reference_pressure_GPa": float(p_ref.mean()), "reference_spread_GPa": spread,
            "model_pressure_GPa": float(p_model.mean()), "model_frame_pressures_GPa": p_model.tolist(),
            "mean_difference_GPa": float(diff.mean()), "tolerance_GPa": tol,
            "agrees": bool(abs(diff.mean()) <= tol)}
