"""Benchmark: MLIP MD atom-steps per second through ilforge's runner vs a plain ASE loop.

Same calculator (a small MACE model, untrained: the force evaluation costs what a trained one of
the same size costs), same box, same integrator (Langevin NVT, 0.5 fs), same number of steps. The
runner adds monitors (every ``--check-every`` steps), buffered H5MD writing (every
``--save-every`` steps) and checkpoints. Monitor thresholds are widened so that the untrained
model is not stopped; the checks are computed all the same. Runs alternate and the best of
``--repeats`` is kept for each.

    python benchmarks/md.py [--pairs 32] [--steps 200] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE.parent / "tests" / "unit"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=32, help="Li+/BF4- pairs (6 atoms each)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--save-every", type=int, default=10)
    ap.add_argument("--check-every", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import numpy as np
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import thermalize_momenta
    from mace_tiny import tiny_mace
    from md_toy import li_bf4_box

    from ilforge.md.calculators import calculator_from_dict
    from ilforge.md.runner import StatePoint, run_state_point
    from ilforge.models.committee import ModelCalculatorFactory
    from ilforge.md.settings import MDSettings
    from ilforge.units import FS, PS

    tmp = Path(tempfile.mkdtemp())
    model = tiny_mace(tmp / "bench.model", scale=0.1)
    # the production path: the model's calculator dict (as an MD task's task.json holds it), built here
    calc = calculator_from_dict(ModelCalculatorFactory("mace", (str(model),), args.device).to_dict())
    box, _ = li_bf4_box(args.pairs)
    n = len(box)
    print(f"box: {n} atoms ({args.pairs} Li+ BF4-), {args.steps} steps, MACE (1 layer, 8x0e, r_max 4 A) on {args.device}")
    settings = MDSettings(ensemble="nvt", thermostat="langevin", timestep_fs=0.5, equilibration_ps=0.0,
                          production_ps=args.steps * 0.5 / 1000, save_every_steps=args.save_every,
                          checkpoint_every_steps=1000,
                          monitors={"check_every_steps": args.check_every, "bond_break_factor": 100.0, "temperature_factor": 1e6,
                                    "min_distances_A": {}, "min_distance_any_A": 0.0})

    def plain():
        a = box.copy()
        a.calc = calc
        thermalize_momenta(a, temperature_K=300, rng=np.random.default_rng(0))
        dyn = Langevin(a, 0.5 * FS, temperature_K=300, friction=1.0 / PS, fixcm=False, rng=np.random.default_rng(1))
        t = time.perf_counter()
        dyn.run(args.steps)
        return n * args.steps / (time.perf_counter() - t)

    def runner(k):
        a = box.copy()
        t = time.perf_counter()
        res = run_state_point(a, calc, settings, tmp / f"run{k}", StatePoint(300.0), restart=False)
        wall = time.perf_counter() - t
        assert res.status == "completed", res.problem
        return n * args.steps / wall

    plain()  # warm-up (first MACE calls are slower)
    best_plain, best_run = 0.0, 0.0
    for k in range(args.repeats):
        best_plain = max(best_plain, plain())
        best_run = max(best_run, runner(k))
    print(f"plain ASE loop : {best_plain:10.0f} atom-steps/s")
    print(f"ilforge runner : {best_run:10.0f} atom-steps/s  (monitors every {args.check_every}, H5MD frame every {args.save_every} steps)")
    print(f"ratio runner/plain: {best_run / best_plain:.3f}")


if __name__ == "__main__":
    main()
