"""Packed boxes for the benchmarks: ``ilforge.build.box.build_box`` when it is available, else a
minimal Packmol packing of the force-field templates' reference geometries (same contract:
ase.Atoms with mol_id / mol_species arrays, molecules whole, species atoms in RDKit order)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys, units


def default_clandp() -> Path:
    """``$ILFORGE_SHARED_DATA/clandp``, else ``<repo>/../shared/data/clandp`` (as tests/conftest.py)."""
    import os

    base = Path(os.environ.get("ILFORGE_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    return base / "clandp"


def _packmol() -> str:
    import shutil
    import sys

    exe = shutil.which("packmol") or str(Path(sys.executable).parent / "packmol")
    return exe


def packmol_box(templates: dict, counts: dict[str, int], density_g_cm3: float, seed: int = 0) -> Atoms:
    """Cubic box holding ``counts`` molecules at ``density_g_cm3``, packed by Packmol (tolerance 2 Å)."""
    mass = sum(sum(templates[s].masses_amu) * n for s, n in counts.items())
    L = units.volume_A3_for_density(mass, density_g_cm3) ** (1 / 3)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lines = [f"tolerance 2.0", f"seed {seed + 1}", "filetype xyz", "output out.xyz", ""]
        for s, n in counts.items():
            t = templates[s]
            xyz = "\n".join(f"{sym} {x:.5f} {y:.5f} {z:.5f}" for sym, (x, y, z) in zip(t.symbols, t.positions_A))
            (tmp / f"{s}.xyz").write_text(f"{t.n_atoms}\n{s}\n{xyz}\n")
            lines += [f"structure {s}.xyz", f"  number {n}", f"  inside box 1.0 1.0 1.0 {L - 1:.3f} {L - 1:.3f} {L - 1:.3f}", "end structure", ""]
        (tmp / "pack.inp").write_text("\n".join(lines))
        with open(tmp / "pack.inp") as fh:
            subprocess.run([_packmol()], stdin=fh, cwd=tmp, check=True, capture_output=True)
        out = (tmp / "out.xyz").read_text().splitlines()
    pos = np.array([[float(v) for v in ln.split()[1:4]] for ln in out[2:] if ln.strip()])
    symbols, mol_id, mol_sp = [], [], []
    m = 0
    for s, n in counts.items():
        for _ in range(n):
            symbols += templates[s].symbols
            mol_id += [m] * templates[s].n_atoms
            mol_sp += [s] * templates[s].n_atoms
            m += 1
    atoms = Atoms(symbols, positions=pos, cell=[L, L, L], pbc=True)
    atoms.arrays[keys.MOL_ID] = np.array(mol_id)
    atoms.arrays[keys.MOL_SPECIES] = np.array(mol_sp)
    return atoms
