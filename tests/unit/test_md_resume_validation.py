"""MD input checks: non-finite states refused before any force call, settings validated, corrupt or
truncated structure, trajectory and checkpoint files named with the fix."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.io import write
from pydantic import ValidationError

from ilforge.cli import main
from ilforge.errors import CorruptFileError, IlforgeError
from ilforge.md.runner import StatePoint, check_finite, run_state_point
from ilforge.md.settings import MDSettings
from ilforge.md.stage import md_settings, read_structure, run_md_on_box
from ilforge.md.trajectory import TrajectoryError, read_h5md
from ilforge.recipe import recipe_from_dict

FAST = dict(ensemble="nvt", timestep_fs=2.0, equilibration_ps=0.0, production_ps=0.02, save_every_steps=5,
            checkpoint_every_steps=5, monitors={"bonds": False})


class NoForces(Calculator):
    """Fails the test if a force is ever asked for."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, *a, **k):
        raise AssertionError("a force call happened before the state was checked")


def _ar(n=8, nan=False):
    rng = np.random.default_rng(0)
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], float)[:n] * 3.8
    a = Atoms(f"Ar{n}", positions=grid + rng.normal(0, 0.05, grid.shape), cell=np.eye(3) * 7.6, pbc=True)
    if nan:
        a.positions[3, 1] = np.nan
    return a


def test_nan_positions_refused_before_any_force_call(tmp_path):
    with pytest.raises(IlforgeError, match="non-finite positions"):
        run_state_point(_ar(nan=True), NoForces(), MDSettings(**FAST), tmp_path, StatePoint(100.0), progress=False)


def test_negative_or_nan_temperature_refused_before_any_force_call(tmp_path):
    for T in (-5.0, float("nan"), float("inf")):
        with pytest.raises(IlforgeError, match="temperature"):
            run_state_point(_ar(), NoForces(), MDSettings(**FAST), tmp_path / str(T), StatePoint(T), progress=False)


def test_check_finite_names_momenta_and_cell():
    a = _ar()
    a.set_momenta(np.full((8, 3), np.nan))
    with pytest.raises(IlforgeError, match="momenta"):
        check_finite(a, "x")
    a = _ar()
    a.cell[0, 0] = np.inf
    with pytest.raises(IlforgeError, match="cell"):
        check_finite(a, "x")
    check_finite(_ar(), "fine")


@pytest.mark.parametrize("bad,match", [
    ({"temperatures_K": [-5]}, "greater than 0"),
    ({"temperatures_K": [float("nan")]}, "finite"),
    ({"temperatures_K": [1e6]}, "less than or equal"),
    ({"temperatures_K": []}, "empty"),
    ({"timestep_fs": 0}, "greater than 0"),
    ({"timestep_fs": float("inf")}, "finite"),
    ({"save_every_steps": 0}, "greater than or equal to 1"),
    ({"ensemble": "npt", "pressures_bar": []}, "needs at least one pressure"),
    ({"pressures_bar": [float("nan")]}, "finite"),
    ({"production_ps": 0.0}, "greater than 0"),
    ({"production_ps": 0.0001, "timestep_fs": 1.0}, "shorter than one time step"),
    ({"production_ps": 0.01, "timestep_fs": 1.0, "save_every_steps": 20}, "longer than the production"),
])
def test_settings_refuse_nonsense(bad, match):
    with pytest.raises(ValidationError, match=match):
        MDSettings(**bad)
    with pytest.raises(IlforgeError, match=match):
        md_settings(None, bad)


def test_recipe_md_section_is_validated():
    recipe = {"name": "t", "components": {"S": {"EMIM": 1, "BF4": 1}}, "box": {"ion_pairs": 2}, "temperatures_K": [300],
              "compositions": [{"id": "n", "fractions": {"S": 1.0}}], "md": {"temperatures_K": [-5]}}
    with pytest.raises(IlforgeError, match="md.temperatures_K"):
        recipe_from_dict(recipe)


def test_pressure_for_nvt_or_nve_is_refused():
    with pytest.raises(IlforgeError, match="means nothing for ensemble nve"):
        md_settings(None, {"ensemble": "nve", "pressures_bar": [1000.0]})
    with pytest.raises(IlforgeError, match="--timestep-fs"):
        md_settings(None, {"timestep_fs": 0.0})
    assert md_settings(None, {"ensemble": "nvt"}).ensemble == "nvt"  # the default pressure is not "given"
    assert md_settings(None, {"ensemble": "npt", "pressures_bar": [10.0]}).pressures_bar == [10.0]


def test_bad_box_files_are_named(tmp_path):
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    full = tmp_path / "full.extxyz"
    write(full, _ar(), format="extxyz")
    cut = tmp_path / "cut.extxyz"
    cut.write_text("".join(full.read_text().splitlines(keepends=True)[:5]))
    nan = tmp_path / "nan.extxyz"
    write(nan, _ar(nan=True), format="extxyz")
    for path in (empty, cut, nan, tmp_path / "missing.extxyz"):
        with pytest.raises(IlforgeError, match=path.name):
            read_structure(path)
    assert len(read_structure(full)) == 8
    with pytest.raises(IlforgeError, match="--workers 0"):
        run_md_on_box(full, tmp_path / "o", model_name="lj", workers=0, overrides=FAST)


def test_cli_answers_bad_md_input_with_exit_code_2(tmp_path, capsys):
    box = tmp_path / "empty.extxyz"
    box.write_text("")
    good = tmp_path / "ar.extxyz"
    write(good, _ar(), format="extxyz")
    cases = [
        (["--box", str(box)], "empty.extxyz"),
        (["--box", str(good), "--temperature-K", "-5"], "temperatures_K"),
        (["--box", str(good), "--timestep-fs", "0"], "--timestep-fs"),
        (["--box", str(good), "--save-every", "0"], "--save-every"),
        (["--box", str(good), "--workers", "0"], "--workers"),
        (["--box", str(good), "--ensemble", "nve", "--pressure-bar", "1000"], "means nothing"),
        (["--box", str(good), "--production-ps", "0.01", "--save-every", "100"], "longer than the production"),
    ]
    for args, match in cases:
        rc = main(["md", *args, "--model", "lj", "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 2 and match in err, (args, rc, err)


def _finished_run(tmp_path):
    d = tmp_path / "run"
    res = run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0), progress=False)
    assert res.completed
    (d / "run.json").unlink()  # as if killed before the end: the next call resumes
    return d


def _lj():
    from ase.calculators.lj import LennardJones

    return LennardJones(sigma=3.4, epsilon=0.0104, rc=3.7, smooth=True)


def test_corrupt_or_truncated_trajectory_is_named(tmp_path):
    d = _finished_run(tmp_path)
    prod = d / "production.h5"
    assert read_h5md(prod).n_frames == 3
    data = prod.read_bytes()
    prod.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrajectoryError, match="production.h5.*corrupt or truncated"):
        read_h5md(prod)
    with pytest.raises(TrajectoryError, match="--no-restart"):  # also when resuming
        run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0), progress=False)
    (tmp_path / "noise.h5").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(TrajectoryError, match="noise.h5"):
        read_h5md(tmp_path / "noise.h5")
    # --no-restart starts over cleanly
    res = run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0), restart=False, progress=False)
    assert res.completed and read_h5md(prod).n_frames == 3


def test_corrupt_checkpoint_is_named_and_no_restart_recovers(tmp_path):
    d = _finished_run(tmp_path)
    ck = d / "checkpoint.npz"
    ck.write_bytes(ck.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match="checkpoint.npz is corrupt or truncated.*delete"):
        run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0), progress=False)
    res = run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0), restart=False, progress=False)
    assert res.completed and res.steps_done == 10


def test_checkpoint_counting_more_frames_than_the_file_is_refused(tmp_path):
    d = _finished_run(tmp_path)
    with np.load(d / "checkpoint.npz") as z:
        doc = {k: z[k] for k in z.files}
    doc["step"] = np.int64(5)
    doc["frames"] = np.array('{"production": 7, "equilibration": 0}')
    with open(d / "checkpoint.npz", "wb") as fh:
        np.savez(fh, **doc)
    with pytest.raises(TrajectoryError, match="checkpoint recorded 7"):
        run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0), progress=False)


def test_progress_file_of_a_run(tmp_path):
    from ilforge.progress import read_status

    d = tmp_path / "p"
    run_state_point(_ar(), _lj(), MDSettings(**FAST), d, StatePoint(100.0))
    doc = read_status(d / "progress.json")
    assert doc["finished"] and doc["done"] == doc["total"] == 10 and doc["unit"] == "step"
    assert set(doc["latest"]) >= {"ns_per_day", "T_K", "rho_g_cm3", "P_bar"} and doc["latest"]["T_K"] > 0


def test_frames_saved_for_labelling_after_the_checkpoint_are_dropped_on_resume(tmp_path):
    from ase.io import read

    from ilforge.md.runner import _trim_high_spread

    path = tmp_path / "high_spread_frames.extxyz"
    for step in (5, 10, 15):
        a = _ar()
        a.info["md_step"] = step
        write(path, a, format="extxyz", append=True)
    _trim_high_spread(path, 10)
    assert [a.info["md_step"] for a in read(path, ":")] == [5, 10]
    _trim_high_spread(path, 0)
    assert not path.exists()


def test_emt_on_elements_it_lacks_is_refused(tmp_path):
    from ilforge.md.calculators import NamedCalculator, check_calculator

    boron = Atoms("B2", positions=[[0, 0, 0], [1.6, 0, 0]], cell=np.eye(3) * 8, pbc=True)
    with pytest.raises(IlforgeError, match="EMT has no parameters for element.*B.*--model lj"):
        check_calculator(NamedCalculator("emt").to_dict(), boron, "b.extxyz")
    check_calculator(NamedCalculator("emt").to_dict(), Atoms("Cu2", cell=np.eye(3) * 8, pbc=True))
    check_calculator(NamedCalculator("lj").to_dict(), boron)
