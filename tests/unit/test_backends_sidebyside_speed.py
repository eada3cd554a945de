"""The workers' ``speed`` mode (native MD speed in a backend environment) and the side-by-side table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ROOT / "src" / "ilforge" / "envs" / "workers"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_md_speed_counts_atom_steps_and_moves_the_atoms():
    common = _load(WORKERS / "worker_common.py", "worker_common_test")
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    start = atoms.positions.copy()
    out = common.md_speed(atoms, EMT(), 5)
    assert out["n_atoms"] == 32 and out["steps"] == 5
    assert out["s_per_step"] > 0
    assert np.isclose(out["atom_steps_per_s"], 32 / out["s_per_step"], rtol=1e-9)
    assert not np.allclose(atoms.positions, start)  # 7 velocity-Verlet steps from a 300 K start


def test_workers_offer_the_speed_mode():
    sys.path.insert(0, str(WORKERS))
    try:
        for name in ("deepmd_worker", "sevenn_worker", "nequip_worker", "apax_worker"):
            assert "speed" in _load(WORKERS / f"{name}.py", f"{name}_test").MODES, name
    finally:
        sys.path.remove(str(WORKERS))


def test_side_by_side_table_rows():
    bench = _load(ROOT / "benchmarks" / "backends.py", "bench_backends_test")
    row = {"backend": "deepmd", "preset": "small", "settings_epochs": 40, "train_wall_s": 100.0, "train_cpu_s": 90.0,
           "test": {"all": {"energy_rmse_meV_atom": 5.0, "forces_rmse_meV_A": 300.0, "stress_rmse_meV_A3": 1.5}},
           "md_atom_steps_s": 3000.0, "native_atom_steps_s": 4000.0, "md_steps_done": 50, "rdf_peak_r_A": {"F-H": 2.5}, "md_steps_total": 1000,
           "md_status": "stopped", "md_problem": "temperature runaway", "density_g_cm3": None}
    doc = {"compositions": ["all"], "rows": [row, {"backend": "nequip", "preset": "small", "not_run": "no env"}]}
    lines = bench.table(doc).splitlines()
    assert len(lines) == 4
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    assert "5 / 300 / 1.5" in lines[2] and "50/1000 (temperature runaway)" in lines[2]
    assert "not run: no env" in lines[3]
    ref = {"backend": "reference", "preset": "classical:CL&P(q*0.8)", "md_atom_steps_s": 900.0, "md_steps_done": 1000,
           "md_steps_total": 1000, "md_status": "completed", "md_problem": None, "density_g_cm3": 1.2, "density_err_g_cm3": 0.01}
    (line,) = bench.table({"compositions": ["all"], "rows": [ref]}).splitlines()[2:]
    assert line.count("|") == lines[0].count("|")
    assert line.startswith("| reference | classical:CL&P(q*0.8) | - | - | - | 900 |") and "1.200 ± 0.010" in line


def test_sevenn_reads_label_only_frames():
    from ase import Atoms

    from ilforge import keys
    from ilforge.models.sevenn_backend import SEVENN_TRAIN_FILE, SEVENN_VALID_FILE, train_input, labels_only
    from ilforge.models.sevenn_settings import SevennSettings

    a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.8]], cell=[5, 5, 5], pbc=True)
    a.info.update({keys.REF_ENERGY: -1.5, keys.REF_STRESS: [0.1] * 6, "forcefield": "x", keys.COMPOSITION_ID: "neat"})
    a.arrays[keys.REF_FORCES] = np.ones((2, 3))
    a.arrays[keys.MOL_ID] = np.array([0, 0])
    b = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.7]], cell=[5, 5, 5], pbc=True)
    b.info[keys.REF_ENERGY] = -1.0
    b.arrays[keys.REF_FORCES] = np.zeros((2, 3))
    out = labels_only([a, b])
    assert sorted(out[0].info) == sorted([keys.REF_ENERGY, keys.REF_STRESS]) and list(out[1].info) == [keys.REF_ENERGY]
    assert sorted(out[0].arrays) == sorted(["numbers", "positions", keys.REF_FORCES])
    assert np.allclose(out[0].arrays[keys.REF_FORCES], 1.0) and out[0].info[keys.REF_ENERGY] == -1.5
    assert np.allclose(out[0].positions, a.positions) and out[0].pbc.all()
    doc = train_input(SevennSettings(preset="fine_tune"), "./base.pth", with_stress=True)
    assert doc["data"]["load_trainset_path"] == [f"./{SEVENN_TRAIN_FILE}"]
    assert doc["data"]["load_validset_path"] == [f"./{SEVENN_VALID_FILE}"]
