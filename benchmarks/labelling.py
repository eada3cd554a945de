"""Labelling throughput: frames/min with 1 and 2 workers (GFN1-xTB, EMIM-BF4 4 ion pairs, 96 atoms),
parallel efficiency, and the frame store's overhead per frame.

    PYTHONPATH=src python benchmarks/labelling.py [--frames 20] [--workers 1 2]

Baseline (same process): a plain loop calling tblite through XTBLabeler on the same frames, no
store, no pool. Reported: frames/min of the baseline and of the runner with N workers, the ratio
runner(1 worker)/baseline, parallel efficiency E(N) = rate(N) / (N rate(1)), and the store's time
per frame (reading the frame, writing the task files, reading the result, writing the labels in
one transaction) as a fraction of the labelling time per frame. Each frame runs as a file-described
task (frame.extxyz + task.json, run in-process by the worker). Worker utilisation = (time the workers spent labelling) / (workers x wall
time): what the runner controls (keeping every worker busy); on a shared machine the efficiency
also reflects CPU contention (the per-frame labelling time in the workers then grows). Worker pools are warmed up (processes spawned, tblite loaded) before
timing. Every process runs tblite with OMP_NUM_THREADS=1.
"""

from __future__ import annotations

import os

os.environ.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from ase.build import molecule  # noqa: E402
from ase.io import read  # noqa: E402

from ilforge.engine.local import LocalPool  # noqa: E402
from ilforge.engine.task import run_file_task  # noqa: E402
from ilforge.labels import LabelError  # noqa: E402
from ilforge.reference import strategies  # noqa: E402
from ilforge.reference.label_task import LabelerSpec, write_label_task  # noqa: E402
from ilforge.reference.runner import run_labelling  # noqa: E402
from ilforge.reference.settings import LabelSettings  # noqa: E402
from ilforge.reference.xtb import XTBLabeler  # noqa: E402
from ilforge.store.frames import SINGLE_POINT, FrameStore  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def example_box():
    """The EMIM-BF4 example box (4 ion pairs): from the box builder when present, else the test box."""
    try:
        from ilforge.build.box import build_box
        from ilforge.recipe import load_recipe

        recipe = load_recipe(REPO / "examples" / "emim_bf4.yaml")
        comp = recipe.resolve_compositions()[0]
        return build_box(recipe, comp, recipe.temperatures_K[0], seed=1), "ilforge.build.box"
    except ImportError:
        return read(REPO / "tests" / "data" / "emim_bf4_4ip.extxyz"), "tests/data/emim_bf4_4ip.extxyz"


def run_pool(frames, workers: int, tmp: Path):
    settings = LabelSettings(labeler="xtb", method="GFN1-xTB")
    lab = XTBLabeler("GFN1-xTB")
    store = FrameStore.open(tmp / f"frames_{workers}.db")
    hs = store.add_many(frames, composition_id="neat", config_type="rattle")
    store.request(hs, lab.level_of_theory)
    spec = LabelerSpec.from_settings(settings)
    with LocalPool(workers=workers) as pool:
        warm = molecule("H2O")
        tasks = [write_label_task(tmp / f"warm_{workers}_{i}", spec, SINGLE_POINT, warm) for i in range(workers)]
        futs = [pool.submit(run_file_task, t) for t in tasks]
        assert all(f.result().ok for f in futs)
        t0 = time.perf_counter()
        summary = run_labelling(store, spec, lab.level_of_theory, pool, tmp / f"tasks_{workers}", max_attempts=1)
        wall = time.perf_counter() - t0
    assert summary.done == len(frames), summary
    return wall, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per worker count, interleaved; the fastest counts (robust on a shared machine)")
    args = ap.parse_args()
    box, origin = example_box()
    frames = strategies.rattle(box, args.frames, 0.05, seed=11)
    print(f"system: EMIM-BF4, {len(box)} atoms ({origin}); {args.frames} rattled frames; GFN1-xTB; "
          f"cores visible: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.2f}")

    lab = XTBLabeler("GFN1-xTB")
    lab.label(box)  # load tblite
    ok, t_ok = [], 0.0
    for a in frames:  # frames whose SCF does not converge are dropped (they would be recorded failures)
        t0 = time.perf_counter()
        try:
            lab.label(a)
        except LabelError as exc:
            print(f"  dropped a frame: {exc}")
            continue
        t_ok += time.perf_counter() - t0
        ok.append(a)
    frames = ok
    base = t_ok
    base_rate = len(frames) / base * 60
    print(f"baseline (plain loop, this process, {len(frames)} frames): {base / len(frames):.3f} s/frame, "
          f"{base_rate:.1f} frames/min")

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for n in args.workers:
                run_dir = Path(tmp) / f"r{r}"
                run_dir.mkdir(exist_ok=True)
                wall, s = run_pool(frames, n, run_dir)
                rate = len(frames) / wall * 60
                rates[n] = max(rates.get(n, 0.0), rate)
                label_per = s.label_s / s.done
                store_per = s.store_s / s.done
                print(f"runner, {n} worker(s), run {r + 1}: {rate:.1f} frames/min ({wall:.1f} s); labelling "
                      f"{label_per:.3f} s/frame in the workers; store {store_per * 1e3:.1f} ms/frame = "
                      f"{100 * store_per / label_per:.2f} % of the labelling time; worker utilisation "
                      f"{100 * s.label_s / (n * wall):.1f} %; OMP_NUM_THREADS in workers: {sorted(set(s.workers.values()))}; "
                      f"load {os.getloadavg()[0]:.2f}")
    for n in args.workers:
        print(f"best of {args.repeat}: {n} worker(s) {rates[n]:.1f} frames/min")
    if 1 in rates:
        print(f"ratio runner(1 worker) / baseline: {rates[1] / base_rate:.3f}")
        for n in rates:
            if n > 1:
                print(f"parallel efficiency with {n} workers: {100 * rates[n] / (n * rates[1]):.1f} % "
                      f"(load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
