"""Validation: a small MACE trained on a toy force field reproduces its structure in ilforge MD.

1. Reference MD (toy bonded + LJ force field of tests/unit/md_toy.py, 8 Li+ + 8 BF4-, 48 atoms)
   at 300/600/900 K gives 120 labelled frames.
2. A small MACE (2 layers, 16x0e+16x1o, r_max 4 A) is trained on their forces for --epochs.
3. ilforge's runner runs NVT at 300 K with the toy force field and with the MACE model (same
   box, seed, length); ilforge's analyses give Li-F and B-F RDFs and centre-of-mass diffusion.
Printed: force RMSE on held-out frames, whether the MLIP run stayed stable (monitors), the RDF
peak positions and the R-factor-like difference between the two g(r), D of each species.

    python benchmarks/mlip_vs_reference.py [--epochs 60] [--ps 1.0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "unit"))


def reference_frames(n_per_T=40, seed=0):
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import thermalize_momenta
    from md_toy import li_bf4_box

    from ilforge.units import FS, PS

    frames = []
    for k, T in enumerate((300, 600, 900)):
        a, calc = li_bf4_box(8, seed=seed + k)
        a.calc = calc
        thermalize_momenta(a, temperature_K=T, rng=np.random.default_rng(seed + k))
        dyn = Langevin(a, 1.0 * FS, temperature_K=T, friction=5 / PS, fixcm=False, rng=np.random.default_rng(seed + k))
        for _ in range(n_per_T):
            dyn.run(20)
            b = a.copy()
            b.info["E"] = a.get_potential_energy()
            b.arrays["F"] = a.get_forces()
            frames.append(b)
    return frames


def train(frames, epochs, path, seed=0):
    from ilforge.models.mace_backend import import_mace

    import_mace()
    import torch
    from e3nn import o3
    from mace import data, modules, tools
    from mace.tools import torch_geometric

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(seed)
    z = tools.AtomicNumberTable([3, 5, 9])
    cfgs = [data.Configuration(atomic_numbers=f.numbers, positions=f.positions, properties={"energy": f.info["E"], "forces": f.arrays["F"]},
                               property_weights={"energy": 1.0, "forces": 1.0}, cell=f.cell.array, pbc=f.pbc) for f in frames]
    loader = torch_geometric.dataloader.DataLoader([data.AtomicData.from_config(c, z_table=z, cutoff=4.0) for c in cfgs], batch_size=4, shuffle=True)
    model = modules.ScaleShiftMACE(
        r_max=4.0, num_bessel=6, num_polynomial_cutoff=5, max_ell=2,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=2, num_elements=3, hidden_irreps=o3.Irreps("16x0e+16x1o"), MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=np.zeros(3), avg_num_neighbors=10.0, atomic_numbers=[3, 5, 9], correlation=2,
        gate=torch.nn.functional.silu, radial_MLP=[16, 16], atomic_inter_scale=1.0, atomic_inter_shift=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, max(1, epochs // 5), 0.6)
    for _ in range(epochs):
        for batch in loader:
            opt.zero_grad()
            out = model(batch.to_dict(), training=True, compute_force=True)
            n = batch["ptr"].diff()
            loss = ((out["forces"] - batch["forces"]) ** 2).mean() + 1e-3 * (((out["energy"] - batch["energy"]) / n) ** 2).mean()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    torch.save(model, path)
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--ps", type=float, default=1.0, help="production length of each NVT run")
    ap.add_argument("--model", type=Path, help="use this trained model instead of training")
    args = ap.parse_args(argv)

    from md_toy import li_bf4_box

    from ilforge.analysis.diffusion import SelfDiffusion
    from ilforge.analysis.rdf import RDF
    from ilforge.md.runner import StatePoint, run_state_point
    from ilforge.models.committee import ModelCalculatorFactory
    from ilforge.md.settings import MDSettings
    from ilforge.md.trajectory import read_h5md

    tmp = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    frames = reference_frames()
    train_frames, test_frames = frames[::2] + frames[1::4], frames[3::4]
    model = args.model or train(train_frames, args.epochs, tmp / "mace.model")
    calc = ModelCalculatorFactory("mace", (str(model),))()
    err = []
    for f in test_frames:
        a = f.copy()
        a.calc = calc
        err.append(a.get_forces() - f.arrays["F"])
    print(f"{len(train_frames)} training frames, {args.epochs} epochs, {time.perf_counter() - t0:.0f} s; "
          f"force RMSE on {len(test_frames)} held-out frames: {np.sqrt(np.mean(np.square(err))):.4f} eV/A")
    s = MDSettings(ensemble="nvt", timestep_fs=0.5, equilibration_ps=0.2, production_ps=args.ps, save_every_steps=10)
    results = {}
    for name in ("toy force field", "MACE"):
        box, toy = li_bf4_box(8, seed=5)
        res = run_state_point(box, toy if name != "MACE" else calc, s, tmp / name.replace(" ", "_"), StatePoint(300.0))
        print(f"{name}: {res.status} after {res.steps_done} steps" + (f" ({res.problem})" if res.problem else ""))
        if res.status != "completed":
            continue
        tr = read_h5md(tmp / name.replace(" ", "_") / "production.h5")
        g = {p: RDF(tr, *p.split("-"), rmax_A=5.9, nbins=118).run().results for p in ("Li-F", "B-F")}
        D = SelfDiffusion(tr, n_blocks=2).run().results["D_m2_s"]
        results[name] = (g, D)
        peaks = ", ".join(f"{p} peak {r['r_A'][np.argmax(r['g'])]:.2f} A" for p, r in g.items())
        print(f"  {peaks}; D: " + ", ".join(f"{k} {v:.2e} m2/s" for k, v in D.items()))
    if len(results) == 2:
        (ga, Da), (gb, Db) = results["toy force field"], results["MACE"]
        for p in ("Li-F",):
            diff = np.sqrt(np.sum((ga[p]["g"] - gb[p]["g"]) ** 2) / np.sum(ga[p]["g"] ** 2))
            print(f"g(r) {p}: relative L2 difference MACE vs reference {diff:.3f}")


if __name__ == "__main__":
    main()
