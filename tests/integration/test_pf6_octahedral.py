"""CL&P sampling of LiPF6 in EMIM-PF6 keeps every PF6- octahedral.

With the three trans F-P-F pairs carrying 90° angle terms (15 terms instead of fftool's 12) the
octahedron held ~45 eV of strain and collapsed (F-F down to 1.41 Å). The box here is packed by
ilforge's builder (``chem.geometry.species_geometry``) and sampled by ilforge's sampler: the packed
trans pairs must be the pairs the force field leaves without an angle term.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openmm")
pytest.importorskip("networkx")

from ilforge import keys  # noqa: E402
from ilforge.recipe import recipe_from_dict  # noqa: E402

#: smallest F-F distance accepted within a PF6- (Å). The octahedron's cis F-F is ~2.27 Å (CL&P P-F 1.606 Å);
#: the collapse of the 15-term force field took it to 1.38-1.41 Å. 1.7 Å is the cis F-F at an F-P-F angle
#: of ~64°, the edge of the 90 ± 30° window asserted below: thermal motion at 400 K reached 1.98 Å in
#: unrepeatable CPU runs (so 2.0 Å failed about one run in ten), the broken force field stays far below.
MIN_FF_A = 1.7


def _recipe(ensemble: str):
    return recipe_from_dict({
        "name": "pf6", "seed": 11,
        "components": {"LiPF6": {"Li": 1, "PF6": 1}, "EMIM_PF6": {"EMIM": 1, "PF6": 1}},
        "box": {"ion_pairs": 6},
        "temperatures_K": [400.0],
        "compositions": [{"id": "x0.5", "fractions": {"LiPF6": 0.5, "EMIM_PF6": 0.5}}],
        "forcefield": {"type": "clandp", "charge_scale": 0.8},  # the CL&P copy shipped with ilforge
        "sampling": {"timestep_fs": 1.0, "equilibration_ps": 2.0, "production_ps": 4.0, "interval_ps": 0.5,
                     "report_interval_ps": 0.5, "ensemble": ensemble, "platform": "CPU"},
    })


def pf6_geometry(frame) -> tuple[float, np.ndarray]:
    """(smallest F-F distance within any PF6- [Å], all F-P-F angles [deg], shape (n_PF6, 15) sorted)."""
    from ilforge.forcefields.openmm_system import molecules_of

    min_ff, angles = np.inf, []
    for sp, idx in molecules_of(frame):
        if sp != "PF6":
            continue
        sym = np.array(frame.get_chemical_symbols())[idx]
        p = frame.positions[idx][sym == "P"][0]
        f = frame.positions[idx][sym == "F"]
        d = np.linalg.norm(f[:, None] - f[None], axis=-1)[np.triu_indices(6, 1)]
        v = (f - p) / np.linalg.norm(f - p, axis=1)[:, None]
        cos = (v @ v.T)[np.triu_indices(6, 1)]
        min_ff = min(min_ff, float(d.min()))
        angles.append(np.sort(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
    return min_ff, np.array(angles)


@pytest.mark.parametrize("ensemble", ["nvt", "npt"])
def test_clandp_sampling_keeps_pf6_octahedral(tmp_path, ensemble):
    from ase.io import read

    from ilforge.build.stage import run_build
    from ilforge.project import Project
    from ilforge.sample.stage import run_sample

    recipe, project = _recipe(ensemble), Project(tmp_path)
    run_build(project, recipe)
    box = read(project.box("x0.5", 400.0))
    assert pf6_geometry(box)[0] > 2.2  # packed as ideal octahedra
    assert len(run_sample(project, recipe).runs) == 1
    frames = read(project.sampled("x0.5", 400.0), ":")
    assert len(frames) >= 8 and all(f.info[keys.FORCEFIELD].startswith("CL&P") for f in frames)
    for f in frames:
        min_ff, ang = pf6_geometry(f)
        assert min_ff > MIN_FF_A, min_ff
        assert len(ang) == 6
        assert np.all(np.abs(ang[:, :12] - 90.0) < 30.0), ang[:, :12].min()  # 12 cis pairs near 90°
        assert np.all(ang[:, 12:] > 145.0), ang[:, 12:].min()  # 3 trans pairs near 180°
