"""The tiny `ilforge run` recipe the pipeline tests share: EMIM-BF4, 4 ion pairs (96 atoms, a 10 Å box),
a generic force field, classical labels, a few epochs and a 0.0125-ps MD run with relaxed monitors (the
model is barely trained: these tests check the plumbing of the stages, not the physics)."""

import yaml

RECIPE = {
    "name": "tiny",
    "seed": 3,
    "components": {"EMIM_BF4": {"EMIM": 1, "BF4": 1}},
    "box": {"ion_pairs": 4},
    "temperatures_K": [298.15],
    "compositions": [{"id": "neat", "fractions": {"EMIM_BF4": 1.0}}],
    "training_compositions": ["neat"],
    "forcefield": {"type": "generic", "cutoff_A": 4.5},  # the 96-atom box is 10 Å wide
    "sampling": {"equilibration_ps": 1, "production_ps": 4, "interval_ps": 0.5},
    "labels": {"labeler": "classical", "frames_per_composition": 8},
    "reference_check": {"frames": 2, "thermalise_ps": 1, "interval_ps": 0.5},
    "training": {"preset": "small", "max_epochs": 3, "valid_fraction": 0.25, "test_fraction": 0.25, "batch_size": 2},
    "md": {
        "ensemble": "nvt",
        "timestep_fs": 0.25,
        "equilibration_ps": 0.0025,
        "production_ps": 0.01,
        "save_every_steps": 2,
        "monitors": {"bonds": False, "temperature_factor": 100.0, "min_distance_any_A": 0.1, "min_distances_A": {}},
    },
    "analysis": {"properties": ["density", "rdf", "diffusion"], "rdf_pairs": [["B", "F"]], "n_blocks": 2},
}


def write_recipe(path, **sections) -> None:
    """RECIPE with top-level ``sections`` replaced (e.g. ``training={...}``), as YAML at ``path``."""
    path.write_text(yaml.safe_dump({**RECIPE, **sections}))
