"""Stand-in labelled frames for the transferability study of a scan recipe (e.g. examples/li_emim_pf6.yaml).

Used while the classical (CL&P/OPLS) labeler and the box builder of ilforge are not yet merged:
it packs small periodic boxes of rigid-ish ions at every composition of the recipe's scan and labels
them with a simple but physical classical model (after ``--relax-steps`` FIRE steps with the
same model, which removes the worst contacts of random insertion), evaluated in numpy:

    E = Σ_intra  k_b (r − r0)²                      (1-2 and 1-3 pairs of each ion, r0 from the
                                                      RDKit ETKDG geometry; k 1-2 = 20 eV/Å²,
                                                      k 1-3 = 5 eV/Å²: an elastic network)
      + Σ_inter  4 ε_ij [(σ_ij/r)¹² − (σ_ij/r)⁶]     (LJ, geometric mixing, cut at r_c, shifted)
      + Σ_inter  k_e q_i q_j V_DSF(r)               (damped shifted force Coulomb, Fennell &
                                                      Gezelter JCP 2006, α = 0.2 Å⁻¹, r_c = 7 Å)

with per-atom charges from RDKit's Gasteiger scheme shifted to the ion's formal charge and scaled by
0.8 (as in scaled-charge IL force fields). Inter-ionic terms act between atoms of different ions
only. An isolated atom has energy 0 (no self term), so E0 = 0 for every element and the isolated-atom
frames written here give the MLIP exactly the right reference energies.

Box sizes: the recipe's counts are divided by ``--divide`` (default 2: 10 ion pairs), packed at
1.2 g/cm³ (random insertion cannot reach liquid densities) with random positions and orientations (minimum inter-ionic distance 1.8 Å) and every
atom rattled by 0.02 Å. Output: an extxyz file with REF_energy, REF_forces, composition_id,
temperature_K, config_type, level_of_theory, mol_id, mol_species.

    python scripts/transfer_standin_frames.py examples/li_emim_pf6.yaml OUT.extxyz --frames-per-composition 8
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.io import write
from ase.neighborlist import neighbor_list
from scipy.special import erfc

from ilforge import keys, units
from ilforge.recipe import load_recipe

LEVEL = "standin:coulomb-dsf+lj+elastic;q=0.8"
ALPHA = 0.2  # 1/Å
RC = 7.0  # Å
KE = 14.399645  # eV Å / e²
# σ (Å), ε (kJ/mol): OPLS-like values per element
LJ = {"H": (2.42, 0.126), "C": (3.50, 0.276), "N": (3.25, 0.711), "P": (3.74, 0.836), "F": (3.12, 0.255), "Li": (2.13, 0.076),
      "B": (3.58, 0.397), "O": (3.00, 0.711), "S": (3.55, 1.046)}


def ion_template(species, seed: int):
    """(symbols, positions Å centred, charges e, intramolecular pairs with r0 and k)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem, rdPartialCharges

    mol = species.rdkit_mol()
    if mol.GetNumAtoms() == 1:
        pos = np.zeros((1, 3))
    else:
        AllChem.EmbedMolecule(mol, randomSeed=seed)
        pos = mol.GetConformer().GetPositions()
    rdPartialCharges.ComputeGasteigerCharges(mol)
    q = np.array([float(a.GetDoubleProp("_GasteigerCharge")) for a in mol.GetAtoms()])
    q = np.nan_to_num(q)
    q += (species.charge - q.sum()) / len(q)
    q *= 0.8
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    pairs = []
    dm = Chem.GetDistanceMatrix(mol)
    for i in range(len(symbols)):
        for j in range(i + 1, len(symbols)):
            if dm[i, j] in (1, 2):
                pairs.append((i, j, float(np.linalg.norm(pos[i] - pos[j])), 20.0 if dm[i, j] == 1 else 5.0))
    return symbols, pos - pos.mean(axis=0), q, pairs


def random_rotation(rng) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    a, b, c, d = q
    return np.array([[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
                     [2*(b*c+a*d), a*a-b*b+c*c-d*d, 2*(c*d-a*b)],
                     [2*(b*d-a*c), 2*(c*d+a*b), a*a-b*b-c*c+d*d]])


def pack(templates: dict, counts: dict, density_g_cm3: float, rng, min_dist=1.8):
    mass = sum(templates[s]["mass"] * n for s, n in counts.items())
    L = units.volume_A3_for_density(mass, density_g_cm3) ** (1 / 3)
    order = [s for s, n in sorted(counts.items(), key=lambda kv: -len(templates[kv[0]]["symbols"])) for _ in range(n)]
    pos, sym, q, mol_id, mol_sp, intra = [], [], [], [], [], []
    for m, s in enumerate(order):
        t = templates[s]
        for _ in range(5000):
            x = t["pos"] @ random_rotation(rng).T + rng.uniform(0, L, 3)
            if pos:
                d = x[:, None, :] - np.array(pos)[None, :, :]
                d -= L * np.round(d / L)
                if np.min(np.linalg.norm(d, axis=-1)) < min_dist:
                    continue
            break
        else:
            raise RuntimeError(f"could not place {s}; lower the density")
        off = len(pos)
        intra += [(off + i, off + j, r0, k) for i, j, r0, k in t["pairs"]]
        pos += list(x)
        sym += t["symbols"]
        q += list(t["q"])
        mol_id += [m] * len(x)
        mol_sp += [s] * len(x)
    atoms = Atoms(sym, positions=np.array(pos), cell=[L, L, L], pbc=True)
    atoms.wrap()
    atoms.arrays[keys.MOL_ID] = np.array(mol_id)
    atoms.arrays[keys.MOL_SPECIES] = np.array(mol_sp)
    atoms.arrays[keys.FF_CHARGE] = np.array(q)
    return atoms, intra


def energy_forces(atoms: Atoms, intra) -> tuple[float, np.ndarray]:
    """The stand-in model's energy (eV) and forces (eV/Å); see the module docstring."""
    n = len(atoms)
    f = np.zeros((n, 3))
    e = 0.0
    # intramolecular elastic network (minimum image: ions are smaller than half the box)
    cell = atoms.cell.array
    inv = np.linalg.inv(cell)
    for i, j, r0, k in intra:
        d = atoms.positions[j] - atoms.positions[i]
        d -= np.round(d @ inv) @ cell
        r = np.linalg.norm(d)
        e += k * (r - r0) ** 2
        g = 2 * k * (r - r0) * d / r  # dE/dr_j
        f[j] -= g
        f[i] += g
    i, j, d, D = neighbor_list("ijdD", atoms, RC)
    mol = atoms.arrays[keys.MOL_ID]
    keep = mol[i] != mol[j]
    i, j, d, D = i[keep], j[keep], d[keep], D[keep]
    sym = atoms.get_chemical_symbols()
    sig = np.array([LJ[s][0] for s in sym])
    eps = np.array([LJ[s][1] * units.KJ_MOL for s in sym])
    q = atoms.arrays[keys.FF_CHARGE]
    s_ij, e_ij = np.sqrt(sig[i] * sig[j]), np.sqrt(eps[i] * eps[j])
    sr6 = (s_ij / d) ** 6
    src6 = (s_ij / RC) ** 6
    v_lj = 4 * e_ij * (sr6**2 - sr6 - (src6**2 - src6))
    dv_lj = 4 * e_ij * (-12 * sr6**2 + 6 * sr6) / d
    qq = KE * q[i] * q[j]
    erfc_c = erfc(ALPHA * RC)
    fc = erfc_c / RC**2 + 2 * ALPHA / math.sqrt(math.pi) * math.exp(-(ALPHA * RC) ** 2) / RC
    v_c = qq * (erfc(ALPHA * d) / d - erfc_c / RC + fc * (d - RC))
    dv_c = qq * (-(erfc(ALPHA * d) / d**2 + 2 * ALPHA / math.sqrt(math.pi) * np.exp(-(ALPHA * d) ** 2) / d) + fc)
    e += 0.5 * float(np.sum(v_lj + v_c))
    dv = dv_lj + dv_c
    np.add.at(f, i, (dv / d)[:, None] * D)
    return e, f


class StandinCalculator(Calculator):
    """:func:`energy_forces` as an ASE calculator (used to relax the random packings)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, intra, **kwargs):
        super().__init__(**kwargs)
        self.intra = intra

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        e, f = energy_forces(self.atoms, self.intra)
        self.results = {"energy": e, "free_energy": e, "forces": f}


def relax(atoms: Atoms, intra, steps: int) -> None:
    """A few FIRE steps with the stand-in model: removes the worst contacts of random insertion."""
    if steps <= 0:
        return
    from ase.optimize import FIRE

    atoms.calc = StandinCalculator(intra)
    FIRE(atoms, logfile=None).run(fmax=0.05, steps=steps)
    atoms.calc = None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe")
    p.add_argument("output")
    p.add_argument("--frames-per-composition", type=int, default=8)
    p.add_argument("--divide", type=int, default=2, help="divide the recipe's species counts by this (smaller boxes)")
    p.add_argument("--density", type=float, default=1.2, help="g/cm³")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--relax-steps", type=int, default=40, help="FIRE steps after packing (0: none)")
    args = p.parse_args()
    recipe = load_recipe(args.recipe)
    lib = recipe.library()
    comps = recipe.resolve_compositions(lib)
    rng = np.random.default_rng(args.seed)
    templates = {}
    for c in comps:
        for s in c.counts:
            if s not in templates:
                sp = lib.get(s)
                sym, pos, q, pairs = ion_template(sp, args.seed)
                templates[s] = {"symbols": sym, "pos": pos, "q": q, "pairs": pairs, "mass": sp.mass_amu}
    T = float(recipe.temperatures_K[0])
    frames = []
    for c in comps:
        counts = {s: n // args.divide for s, n in c.counts.items() if n // args.divide}
        for k in range(args.frames_per_composition):
            atoms, intra = pack(templates, counts, args.density, rng)
            relax(atoms, intra, args.relax_steps)
            atoms.positions += rng.normal(0, 0.02, atoms.positions.shape)
            e, f = energy_forces(atoms, intra)
            atoms.info.update({keys.REF_ENERGY: e, keys.COMPOSITION_ID: c.id, keys.TEMPERATURE_K: T,
                               keys.CONFIG_TYPE: "standin_packing", keys.LEVEL_OF_THEORY: LEVEL})
            atoms.arrays[keys.REF_FORCES] = f
            frames.append(atoms)
        print(c.id, counts, len(atoms), "atoms", f"E/atom {e / len(atoms):.3f} eV")
    for el in sorted({s for a in frames for s in a.get_chemical_symbols()}):
        iso = Atoms(el, positions=[[0, 0, 0]], cell=[20, 20, 20], pbc=False)
        iso.info.update({keys.REF_ENERGY: 0.0, keys.CONFIG_TYPE: keys.CT_ISOLATED_ATOM, keys.LEVEL_OF_THEORY: LEVEL})
        iso.arrays[keys.REF_FORCES] = np.zeros((1, 3))
        frames.append(iso)
    write(args.output, frames, format="extxyz")


if __name__ == "__main__":
    main()
