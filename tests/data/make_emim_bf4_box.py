"""Regenerate tests/data/emim_bf4_4ip.extxyz: 4 EMIM-BF4 ion pairs (96 atoms) packed with Packmol.

A fixed test system for the labelling tests, independent of the box builder (ilforge.build).
Density 1.28 g/cm³ (EMIM-BF4 at 298 K); RDKit ETKDG geometries (seed 7); Packmol seed 7.
Run: PYTHONPATH=src python tests/data/make_emim_bf4_box.py
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write
from rdkit.Chem import AllChem

from ilforge import keys
from ilforge.chem.species import load_library
from ilforge.units import volume_A3_for_density

OUT = Path(__file__).with_name("emim_bf4_4ip.extxyz")


def main():
    lib = load_library()
    tmp = Path(tempfile.mkdtemp())
    mass = 0.0
    n_pairs = 4
    for name in ("EMIM", "BF4"):
        sp = lib.get(name)
        mol = sp.rdkit_mol()
        AllChem.EmbedMolecule(mol, randomSeed=7)
        AllChem.MMFFOptimizeMolecule(mol)
        pos = mol.GetConformer().GetPositions()
        write(tmp / f"{name}.xyz", Atoms(sp.symbols, positions=pos))
        mass += sp.mass_amu
    L = volume_A3_for_density(mass * n_pairs, 1.28) ** (1 / 3)
    inp = f"tolerance 2.0\nseed 7\nfiletype xyz\noutput box.xyz\npbc 0 0 0 {L:.4f} {L:.4f} {L:.4f}\n"
    for name in ("EMIM", "BF4"):
        inp += f"structure {name}.xyz\n  number {n_pairs}\n  inside box 0. 0. 0. {L:.4f} {L:.4f} {L:.4f}\nend structure\n"
    (tmp / "pack.inp").write_text(inp)
    with open(tmp / "pack.inp") as fh:
        subprocess.run([shutil.which("packmol") or str(Path(sys.executable).with_name("packmol"))], stdin=fh, cwd=tmp, check=True, capture_output=True)
    box = read(tmp / "box.xyz")
    box.info = {}
    box.cell = [L, L, L]
    box.pbc = True
    mol_id, mol_species = [], []
    i = 0
    for name in ("EMIM", "BF4"):
        n = lib.get(name).n_atoms
        for _ in range(n_pairs):
            mol_id += [i] * n
            mol_species += [name] * n
            i += 1
    box.arrays[keys.MOL_ID] = np.array(mol_id)
    box.arrays[keys.MOL_SPECIES] = np.array(mol_species)
    box.info[keys.COMPOSITION_ID] = "neat"
    box.info[keys.TEMPERATURE_K] = 298.15
    box.info[keys.CONFIG_TYPE] = keys.CT_BOX
    write(OUT, box)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
