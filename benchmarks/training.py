"""Training speed through ilforge vs mace_run_train on the same data and settings.

100 frames of 108 atoms (rattled, strained Cu/Au fcc 3×3×3 supercells labelled with ASE's EMT),
the ``small`` preset, float64, CPU. Both runs use the identical mace argument list (ilforge builds
it from its typed settings); the baseline calls ``mace.cli.run_train.main()`` (the
``mace_run_train`` entry point) with that list as ``sys.argv``, in the same process after a warm-up,
so imports and thread pools are warm for both; the two alternate ``--repeats`` times and the
fastest run of each counts (the machine is shared). Printed: wall seconds per epoch of the whole call
(ilforge: writing extxyz, E0s, hashes, training, post-training metrics; mace: parsing, training),
seconds per epoch inside mace's training loop (from its log timestamps) and the ratios.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/training.py --epochs 3
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT

from ilforge import keys
from ilforge.models.data import write_frames
from ilforge.models.e0s import E0s
from ilforge.models.mace_cli import mace_arguments
from ilforge.models.mace_settings import MaceSettings as TrainingSettings
from ilforge.models.registry import get_backend


def frames(n: int, seed: int = 0, repeat=(3, 3, 3)):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(repeat)
        sym = np.array(a.get_chemical_symbols())
        sym[rng.permutation(len(a))[: int(rng.uniform(0, 0.5) * len(a))]] = "Au"
        a.set_chemical_symbols(sym.tolist())
        a.set_cell(a.cell * (1 + rng.uniform(-0.03, 0.03)), scale_atoms=True)
        a.positions += rng.normal(0, 0.1, a.positions.shape)
        a.calc = EMT()
        a.info[keys.REF_ENERGY] = a.get_potential_energy()
        a.arrays[keys.REF_FORCES] = a.get_forces()
        a.calc = None
        a.info[keys.LEVEL_OF_THEORY] = "emt:ase"
        out.append(a)
    return out


ISOLATED = {"Cu": 3.51, "Au": 3.8}  # EMT isolated-atom energies, eV


def loop_seconds_per_epoch(log: Path) -> float:
    """Mean time between consecutive 'Epoch N' lines of mace's log (the training loop only)."""
    stamps = []
    for line in log.read_text().splitlines():
        if re.search(r"INFO: Epoch \d+:", line):
            stamps.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f"))
    stamps = sorted(set(stamps))
    if len(stamps) < 2:
        return float("nan")
    return (stamps[-1] - stamps[0]).total_seconds() / (len(stamps) - 1)


def run_mace_cli(argv: list[str]) -> float:
    from mace.cli import run_train

    from ilforge.models.mace_backend import _quiet_root_logger

    old = sys.argv
    sys.argv = ["mace_run_train", *argv]
    t = time.perf_counter()
    try:
        with _quiet_root_logger(Path(argv[argv.index("--work_dir") + 1]) / "logs" / "mace_console.log"):
            run_train.main()
    finally:
        sys.argv = old
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--repeats", type=int, default=2, help="alternating runs of each; the fastest counts")
    args = p.parse_args()
    data = frames(args.frames)
    train, valid = data[: int(0.9 * len(data))], data[int(0.9 * len(data)) :]
    settings = TrainingSettings(preset="small", max_epochs=args.epochs, batch_size=4, seed=1, dtype="float64")
    backend = get_backend("mace")
    with TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        backend.train(settings.model_copy(update={"max_epochs": 1}), train[:4], valid[:2], tmp / "warmup", isolated_energies=ISOLATED)
        t_mace, loop_mace, t_ilf, loop_ilf = [], [], [], []
        for r in range(args.repeats):  # alternate the two, keep the fastest of each (load on a shared machine)
            # baseline: mace_run_train on the same files and arguments
            base = tmp / f"mace{r}"
            base.mkdir()
            write_frames(base / "train.extxyz", train)
            write_frames(base / "valid.extxyz", valid)
            argv = mace_arguments(settings, base, E0s(ISOLATED, "isolated"), base / "train.extxyz", base / "valid.extxyz")
            t_mace.append(run_mace_cli(argv))
            loop_mace.append(loop_seconds_per_epoch(base / "logs" / "mace_console.log"))
            # ilforge
            t = time.perf_counter()
            art = backend.train(settings, train, valid, tmp / f"ilforge{r}", isolated_energies=ISOLATED)
            t_ilf.append(time.perf_counter() - t)
            loop_ilf.append(loop_seconds_per_epoch(art.directory / "logs" / "mace_console.log"))
        t_mace, loop_mace, t_ilf, loop_ilf = min(t_mace), min(loop_mace), min(t_ilf), min(loop_ilf)
    n_atoms = sum(len(a) for a in train)
    print(f"data: {len(train)} training frames ({n_atoms} atoms, {n_atoms / len(train):.0f} per frame), {len(valid)} validation; "
          f"small preset, {args.epochs} epochs, float64, CPU")
    print(f"mace_run_train: {t_mace / args.epochs:8.2f} s/epoch (whole call)   {loop_mace:8.2f} s/epoch (training loop)")
    print(f"ilforge train : {t_ilf / args.epochs:8.2f} s/epoch (whole call)   {loop_ilf:8.2f} s/epoch (training loop)")
    print(f"ratio ilforge/mace: {t_ilf / t_mace:.3f} (whole call)   {loop_ilf / loop_mace:.3f} (training loop)   "
          f"overhead {100 * (t_ilf / t_mace - 1):+.1f} %")


if __name__ == "__main__":
    main()
