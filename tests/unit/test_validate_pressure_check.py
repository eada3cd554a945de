"""The validate stage's pressure check: the model's molecular virial pressure on the reference check's
snapshots next to the reference's (agrees when the mean difference is within the reference's spread)."""

import ase.io
import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT

from ilforge import keys, units
from ilforge.project import REFERENCE_CHECK, Project
from ilforge.validate.pressure import MIN_TOLERANCE_GPA, model_pressure_check, model_pressures_GPa


class ShiftedStress(Calculator):
    """EMT with a constant hydrostatic stress added: ΔP = −Δσ (ASE sign)."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, dp_GPa):
        super().__init__()
        self.dp = dp_GPa * units.GPA
        self.emt = EMT()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = atoms.copy()
        a.calc = self.emt
        self.results = {"energy": a.get_potential_energy(), "forces": a.get_forces(),
                        "stress": a.get_stress(voigt=True) - self.dp * np.array([1, 1, 1, 0, 0, 0])}


def _frames(n=3):
    """Four Cu2 'molecules' on a lattice, slightly jittered per frame (small reference spread)."""
    rng = np.random.default_rng(0)
    centres = np.array([[1, 1, 1], [5, 5, 1], [5, 1, 5], [1, 5, 5]], dtype=float)
    out = []
    for _ in range(n):
        pos = []
        for c in centres:
            pos += [c, c + [2.5, 0, 0]]
        a = Atoms("Cu8", positions=np.array(pos) + rng.normal(0, 0.01, (8, 3)), cell=[8.0, 8.0, 8.0], pbc=True)
        a.arrays[keys.MOL_ID] = np.repeat(np.arange(4), 2)
        a.arrays[keys.MOL_SPECIES] = np.array(["Cu2"] * 8)
        out.append(a)
    return out


def _project_with_check(tmp_path, frames, p_ref):
    project = Project(tmp_path)
    project.result_frames(REFERENCE_CHECK).parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(project.result_frames(REFERENCE_CHECK), frames, format="extxyz")
    project.write_results(REFERENCE_CHECK, {"temperature_K": 300.0, "methods": [
        {"name": "gfn2", "skipped": None, "chosen": False, "frame_pressures_GPa": [9.0] * len(frames)},
        {"name": "EMT (recipe)", "chosen": True, "frame_pressures_GPa": list(p_ref)}]})
    return project


def test_model_equal_to_its_reference_agrees(tmp_path):
    frames = _frames()
    p_ref = model_pressures_GPa(EMT(), frames, 300.0)
    out = model_pressure_check(_project_with_check(tmp_path, frames, p_ref), EMT())
    assert out["reference"] == "EMT (recipe)" and out["agrees"]
    assert abs(out["mean_difference_GPa"]) < 1e-5  # extxyz round trip of the snapshots


def test_a_pressure_offset_is_measured_and_flagged(tmp_path):
    frames = _frames()
    p_ref = model_pressures_GPa(EMT(), frames, 300.0)
    project = _project_with_check(tmp_path, frames, p_ref)
    out = model_pressure_check(project, ShiftedStress(+0.5))
    assert np.isclose(out["mean_difference_GPa"], 0.5, atol=1e-5)  # sign: the model's pressure is higher
    assert out["tolerance_GPa"] >= MIN_TOLERANCE_GPA and not out["agrees"]


def test_no_check_no_result(tmp_path):
    assert model_pressure_check(Project(tmp_path), EMT()) is None
