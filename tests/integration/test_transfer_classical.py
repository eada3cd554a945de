"""The paper's transferability finding on ilforge's own classical labels (slow).

Goodwin et al., J. Phys. Chem. Lett. 2024, Fig. 1, at a small scale: LiPF6 in EMIM-PF6 boxes at
x = 0, 0.4, 0.5, 0.6, 1 are packed (`ilforge build`), sampled with CL&P MD (`ilforge sample`),
labelled with the CL&P force field itself (`ilforge label`, labeler ``classical``), and
`ilforge transfer` trains {0.5} and {0.4, 0.6}. The single-composition model cannot separate the
per-species energies E(Li+) and E(EMIM+) (planner: rank 1 < 2), so its energy error must grow away
from x = 0.5; the spanning set must transfer much better to the ends.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

pytest.importorskip("mace")


def tiny_recipe(clandp) -> dict:
    return {
        "name": "li_emim_pf6_tiny",
        "seed": 11,
        "components": {"LiPF6": {"Li": 1, "PF6": 1}, "EMIM_PF6": {"EMIM": 1, "PF6": 1}},
        "box": {"ion_pairs": 10},
        "temperatures_K": [353.15],
        "scan": {"component": "LiPF6", "balance": "EMIM_PF6", "values": [0.0, 0.4, 0.5, 0.6, 1.0]},
        "training_compositions": [0.4, 0.6],
        # the x = 1 box (80 atoms) is ~10.6 Å wide: one 4.5 Å cutoff for sampling and labels everywhere
        "forcefield": {"type": "clandp", "path": str(clandp), "charge_scale": 0.8, "cutoff_A": 4.5,
                       "ewald_tolerance": 5.0e-4},
        "sampling": {"equilibration_ps": 2, "production_ps": 10, "interval_ps": 1},
        "labels": {"labeler": "classical", "frames_per_composition": 10, "config_types": ["classical_md"],
                   "strategies": {"volume_scan": {"percent": []}}},
    }


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_single_composition_energy_error_grows_away_from_it(tmp_path, clandp):
    from ilforge.cli import main

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe(clandp)))
    work = tmp_path / "work"
    for verb in ("build", "sample", "label"):
        assert main([verb, str(recipe), "--workdir", str(work)]) == 0, verb
    rc = main(["transfer", str(recipe), "--workdir", str(work), "--sets", "0.5;0.4,0.6", "--max-epochs", "60",
               "--set", "batch_size=1", "--set", "energy_weight=100", "--set", "learning_rate=0.005",
               "--set", "dtype=float32", "--test-fraction", "0.3"])
    assert rc == 0
    res = json.loads((work / "results" / "transfer.json").read_text())
    assert res["level_of_theory"].startswith("classical:")
    e = np.array(res["energy_mae_meV_atom"], dtype=float)
    x = res["x"]
    ends, mid = [x.index(0.0), x.index(1.0)], x.index(0.5)
    single, spanning = e[0], e[1]
    assert not res["training_sets"][0]["spans"] and res["training_sets"][1]["spans"]
    assert single[ends].mean() > 5 * single[mid], e  # {0.5}: error grows away from x = 0.5
    assert spanning[ends].mean() < single[ends].mean() / 2, e  # {0.4, 0.6} transfers much better
    assert (work / "results" / "transfer_energy_mae.png").stat().st_size > 0
