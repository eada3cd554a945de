"""Every backend passes the conformance kit (ilforge.models.testing) on a tiny trained committee.

A new backend gets the same checks by training its own tiny committee here (registry name, settings).
Backends in their own environment (deepmd) carry the ``backends`` marker (`make test-backends`) and
skip with the reason when their environment is not created (`ilforge env create deepmd`).
"""

from __future__ import annotations

import pytest

pytest.importorskip("mace")

from backend_envs import backend_param, needs_env  # noqa: E402
from emt_frames import alloy_frames, isolated_atoms  # noqa: E402

from ilforge.models import testing  # noqa: E402
from ilforge.models.committee import Committee  # noqa: E402
from ilforge.models.registry import settings_class  # noqa: E402
from ilforge.models.training import train_committee  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

#: tiny settings per backend: a few channels, one epoch (the checks are about consistency, not accuracy)
TINY = {"mace": {"preset": "small", "num_channels": 8, "max_epochs": 1, "batch_size": 2, "seed": 5, "committee_size": 2,
                 "stress_weight": 1.0, "e0s": "isolated", "r_max_A": 4.0},
        "deepmd": {"max_epochs": 5, "batch_size": 2, "seed": 5, "committee_size": 2, "stress_weight": 1.0, "e0s": "isolated",
                   "rcut_A": 4.0, "embedding_neuron": [4, 8], "axis_neuron": 2, "fitting_neuron": [8, 8], "threads": 1}}
TINY["nequip"] = {"max_epochs": 2, "batch_size": 2, "seed": 5, "committee_size": 2, "stress_weight": 1.0, "e0s": "isolated",
                  "r_max_A": 4.0, "num_layers": 2, "num_features": 4, "radial_mlp_width": 8, "threads": 1}
TINY["allegro"] = {"max_epochs": 2, "batch_size": 2, "seed": 5, "committee_size": 2, "stress_weight": 1.0, "e0s": "isolated",
                   "r_max_A": 4.0, "num_scalar_features": 8, "num_tensor_features": 2, "mlp_width": 8, "threads": 1}

@pytest.fixture(scope="module", params=[backend_param(n) for n in sorted(TINY)])
def committee(request, tmp_path_factory):
    frames = alloy_frames(6, seed=2, repeat=(1, 1, 2))
    settings = settings_class(request.param).model_validate({"backend": request.param, **TINY[request.param]})
    iso = {a.get_chemical_symbols()[0]: a.info["REF_energy"] for a in isolated_atoms()}
    model_dir = tmp_path_factory.mktemp(f"conformance_{request.param}")
    train_committee(settings, frames[:4], frames[4:], model_dir, isolated_energies=iso)
    return Committee.load(model_dir), frames


def test_energy_force_consistency(committee):
    c, frames = committee
    calc = c.calculator_factory()()  # the committee mean is a potential too
    testing.check_forces(calc, frames[0])
    testing.check_forces(_member_calc(c), frames[1])


def test_stress_is_the_strain_derivative(committee):
    c, frames = committee
    testing.check_stress(_member_calc(c), frames[0])


def test_save_load_round_trip(committee):
    c, frames = committee
    testing.check_round_trip(c.members[0], frames)


def test_committee_statistics(committee):
    c, frames = committee
    testing.check_committee_statistics(c, frames)


def test_isolated_atoms_have_their_e0(committee):
    c, _ = committee
    for m in c.members:
        testing.check_e0s(m)


def _member_calc(c):
    from ilforge.models.registry import get_backend

    return get_backend(c.backend).load_calculator(c.members[0])


# --- SevenNet (foundation model): zero-shot, a tiny fine-tune and a tiny model from scratch, float32 so looser finite differences;
# no E0 check (its shifts are per-element baselines, an isolated atom's energy is not exactly one) ---
SEVENN = {"zero_shot": {"preset": "zero_shot", "threads": 2},
          "fine_tune": {"preset": "fine_tune", "max_epochs": 2, "batch_size": 2, "seed": 5, "threads": 2},
          "scratch": {"preset": "scratch", "max_epochs": 2, "batch_size": 2, "seed": 5, "threads": 2, "channel": 4,
                      "lmax": 1, "num_convolution_layer": 2, "cutoff_A": 4.0}}


@pytest.fixture(scope="module", params=[pytest.param(p, marks=needs_env("sevenn")) for p in sorted(SEVENN)])
def sevenn_model(request, tmp_path_factory):
    from ilforge.models.registry import get_backend

    frames = alloy_frames(6, seed=2, repeat=(1, 1, 2))
    settings = settings_class("sevenn").model_validate({"backend": "sevenn", **SEVENN[request.param]})
    art = get_backend("sevenn").train(settings, frames[:4], frames[4:], tmp_path_factory.mktemp(f"sevenn_{request.param}"))
    return art, frames


def test_sevenn_forces_stress_and_round_trip(sevenn_model):
    from ilforge.models.registry import get_backend

    art, frames = sevenn_model
    calc = get_backend("sevenn").load_calculator(art)
    testing.check_forces(calc, frames[0], delta=1e-2, atol=5e-3, max_components=6)
    testing.check_stress(calc, frames[0], delta=1e-3, atol=1e-4)
    testing.check_round_trip(art, frames[:3], atol=1e-5)


def test_sevenn_shifts_are_refitted(sevenn_model):
    """Fine-tune: SevenNet-0's PBE shifts refitted to the EMT labels before training; scratch: the trained
    model's shifts refitted after training (least squares: never worse on the training frames)."""
    art, _ = sevenn_model
    if art.info["preset"] == "zero_shot":
        assert art.info["foundation_model"] == "7net-0" and art.info["shift_refit"] is None
        return
    refit = art.info["shift_refit"]
    assert set(refit["delta_eV"]) == {"Cu", "Au"}
    if art.info["preset"] == "scratch":
        assert art.info["foundation_model"] is None and art.info["settings"]["channel"] == 4
        assert refit["rmse_per_atom_after_eV"] <= refit["rmse_per_atom_before_eV"] + 1e-9
        return
    assert refit["rmse_per_atom_after_eV"] < 0.2 * refit["rmse_per_atom_before_eV"]  # SevenNet-0 (PBE) vs EMT: eV/atom apart
    assert art.info["metrics_valid"]["energy_rmse_meV_atom"] < 1000 * refit["rmse_per_atom_before_eV"] / 5


# --- apax: one shallow ensemble of two readouts (a native ensemble: committee statistics come from the
# model itself); float64 descriptor and readout; E0s subtracted from the labels, so an isolated atom is
# E0 plus the network's empty-neighbourhood output (no exact-E0 check) ---
APAX_TINY = {"max_epochs": 2, "batch_size": 2, "seed": 5, "committee_size": 2, "e0s": "isolated", "r_max_A": 4.0,
             "n_basis": 4, "n_radial": 2, "nn": [8, 8], "threads": 1}


@pytest.fixture(scope="module", params=[backend_param("apax")])
def apax_model(request, tmp_path_factory):
    from ilforge.models.registry import get_backend

    frames = alloy_frames(6, seed=2, repeat=(1, 1, 2))
    iso = {a.get_chemical_symbols()[0]: a.info["REF_energy"] for a in isolated_atoms()}
    settings = settings_class("apax").model_validate({"backend": "apax", **APAX_TINY})
    art = get_backend("apax").train(settings, frames[:4], frames[4:], tmp_path_factory.mktemp("apax"), isolated_energies=iso)
    return art, frames


def test_apax_forces_stress_and_round_trip(apax_model):
    from ilforge.models.registry import get_backend

    art, frames = apax_model
    calc = get_backend("apax").load_calculator(art)
    testing.check_forces(calc, frames[0])
    testing.check_stress(calc, frames[0])
    testing.check_round_trip(art, frames)


def test_apax_shallow_ensemble_statistics(apax_model):
    import numpy as np

    from ilforge.models.registry import get_backend

    art, frames = apax_model
    assert art.info["n_members"] == 2 and art.info["e0s"]["method"] == "isolated"
    preds = get_backend("apax").predict(art, frames)
    for p in preds:
        e = np.asarray(p["energies"])
        assert len(e) == 2 and p["energy"] == pytest.approx(e.mean(), abs=1e-9)
        assert p["energy_std"] == pytest.approx(e.std(), abs=1e-9) and p["energy_std"] > 0
        assert p["max_force_std"] == pytest.approx(np.linalg.norm(p["forces_std"], axis=1).max(), abs=1e-12)
    a = frames[0].copy()
    a.calc = get_backend("apax").load_calculator(art)
    a.get_potential_energy()
    for key in ("energy_std", "max_force_std"):
        assert a.calc.results[key] == pytest.approx(preds[0][key], rel=1e-8, abs=1e-10)
    np.testing.assert_allclose(a.calc.results["forces_std"], preds[0]["forces_std"], atol=1e-10)
