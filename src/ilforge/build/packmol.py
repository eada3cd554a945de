"""Run Packmol (the binary shipped by the ``packmol`` PyPI package) to pack molecules in a
periodic cubic box.

L. Martínez, R. Andrade, E. G. Birgin, J. M. Martínez, J. Comput. Chem. 30, 2157 (2009).
Periodic boundaries use Packmol's ``pbc`` keyword (Packmol >= 20.15), so the tolerance holds
across the box faces.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

from ilforge.errors import BuildError

log = logging.getLogger(__name__)


def packmol_binary() -> str:
    """Path of the packmol executable (the PyPI package's binary, else one on PATH)."""
    try:
        from packmol.cli import get_binary_path

        return str(get_binary_path())
    except (ImportError, FileNotFoundError):
        found = shutil.which("packmol")
        if not found:
            raise BuildError("packmol not found: pip install packmol (or run `make setup`)") from None
        return found


def pack(
    molecules: list[tuple[Atoms, int]],
    box_length_A: float,
    tolerance_A: float = 2.0,
    seed: int = 0,
    nloop: int = 200,
    timeout_s: float = 600.0,
    move_bad_random: bool = False,
) -> np.ndarray:
    """Pack ``count`` copies of each molecule in a periodic cube of edge ``box_length_A`` (Å).

    Returns the positions (n_atoms, 3), molecules in input order and each copy whole. Raises
    :class:`BuildError` when Packmol fails or does not reach a perfect packing.
    """
    with tempfile.TemporaryDirectory(prefix="ilforge-packmol-") as tmp:
        tmpdir = Path(tmp)
        lines = [
            f"tolerance {tolerance_A:.3f}",
            "filetype xyz",
            "output packed.xyz",
            f"seed {int(seed) % 2_147_483_647 + 1}",
            f"nloop {int(nloop)}",
            f"pbc 0. 0. 0. {box_length_A:.6f} {box_length_A:.6f} {box_length_A:.6f}",
        ]
        if move_bad_random:
            lines.append("movebadrandom")
        for k, (mol, count) in enumerate(molecules):
            if count <= 0:
                continue
            write(tmpdir / f"mol{k}.xyz", mol, format="xyz")
            lines += [f"structure mol{k}.xyz", f"  number {int(count)}", "end structure"]
        (tmpdir / "pack.inp").write_text("\n".join(lines) + "\n")
        with open(tmpdir / "pack.inp") as stdin:
            try:
                proc = subprocess.run(
                    [packmol_binary()], stdin=stdin, cwd=tmpdir, capture_output=True, text=True, timeout=timeout_s
                )
            except subprocess.TimeoutExpired:
                raise BuildError(f"packmol did not finish within {timeout_s:.0f} s") from None
        out = tmpdir / "packed.xyz"
        text = proc.stdout
        if proc.returncode != 0 or not out.exists() or "Success!" not in text:
            if "without perfect packing" in text.lower() or proc.returncode == 173:
                raise BuildError(
                    f"packmol ended without a perfect packing (molecules closer than {tolerance_A} Å remain)"
                )
            tail = " | ".join(line.strip() for line in (text + proc.stderr).strip().splitlines()[-6:] if line.strip())
            raise BuildError(f"packmol failed (exit {proc.returncode}): {tail}")
        return read(out, format="xyz").get_positions()
