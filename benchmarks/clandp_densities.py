"""CL&P NPT densities of the ionic liquids in ilforge's experimental table, next to experiment.

Liquids: every entry of ``ilforge/experiment/data/il_reference_data.yaml`` whose ions have CL&P
molecule files in the shipped database (EAN is not covered: no ethylammonium or nitrate file).
Settings (standard CL&P): 12 Å cutoff for LJ and real-space Coulomb, analytic LJ tail correction,
PME (tolerance 1e-5), X–H bonds constrained, 2 fs, Langevin middle integrator (1/ps) and a Monte
Carlo barostat (1 bar, every 25 steps), charges ×1.0 and ×0.8. Box: the fewest ion pairs whose
cubic box stays ≥ ``--min-edge-A`` (default 25 Å = 2×12 Å + 1 Å) even at 5 % above the reference
density (experiment, else ilforge's estimate); packed at 0.95× that density.

Each run: minimise, then NPT in chunks; the density ρ = M/V is recorded every 0.5 ps. The second
half of the run is production; its mean and block standard error (5 blocks; Flyvbjerg &
Petersen 1989) are reported, with the drift = slope of a linear fit over the production half ×
its length. A run is accepted when the drift is not significant, |drift| ≤ 2σ_drift with
σ_drift = √12·SEM (the standard error of that drift for independent blocks), and |drift| ≤
``--max-drift-rel`` ρ; otherwise it is extended by half its length, up to ``--max-ps``. The
table also says whether |drift| ≤ SEM (the literal "within the error bar").

Resumable: each run keeps box.xyz, state.xml (OpenMM checkpoint), trace.json and, when done,
result.json under ``OUT/<run>/``; a rerun skips finished runs and continues unfinished ones.
Runs go in priority order (full charges at T1 for every liquid, then ×0.8 at T1, then T2 ...)
and nothing new starts after ``--budget-min`` minutes of wall time. Usage::

    OPENMM_CPU_THREADS=2 PYTHONPATH=src python benchmarks/clandp_densities.py OUT [--budget-min 70]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _box import default_clandp, packmol_box  # noqa: E402

from ilforge import units  # noqa: E402
from ilforge.analysis.blocks import block_average  # noqa: E402
from ilforge.build.density import target_density  # noqa: E402
from ilforge.chem.species import load_library  # noqa: E402
from ilforge.experiment.densities import experimental_density  # noqa: E402
from ilforge.forcefields.clandp import clandp_template  # noqa: E402
from ilforge.forcefields.openmm_system import box_vectors_nm, build_system, positions_nm  # noqa: E402
from ilforge.jsonio import write_json_atomic  # noqa: E402
from ilforge.units import A_TO_NM  # noqa: E402

log = logging.getLogger("clandp_densities")

#: liquid -> (cation, anion, first temperature K, second temperature K); EMIM-PF6 melts near 333 K,
#: so it is run at the temperatures of its measured densities (Taguchi et al. 2009)
LIQUIDS = {
    "EMIM_BF4": ("EMIM", "BF4", 298.15, 333.15),
    "BMIM_BF4": ("BMIM", "BF4", 298.15, 333.15),
    "EMIM_TFSI": ("EMIM", "TFSI", 298.15, 333.15),
    "BMIM_TFSI": ("BMIM", "TFSI", 298.15, 333.15),
    "EMIM_PF6": ("EMIM", "PF6", 353.15, 373.15),
    "PYR14_BF4": ("PYR14", "BF4", 298.15, 333.15),
}
NOT_COVERED = {"EAN": "no CL&P molecule files for ethylammonium (EA) or nitrate (NO3) in the shipped database"}
SETTINGS = {"cutoff_A": 12.0, "ewald_tolerance": 1e-5, "constraints": "hbonds", "timestep_fs": 2.0,
            "friction_per_ps": 1.0, "barostat_steps": 25, "pressure_bar": 1.0, "lj_tail": True}
RECORD_PS = 0.5
N_BLOCKS = 5
#: packing density as a fraction of the reference density (the barostat compresses the rest)
PACK_FRACTION = 0.95


@dataclass(frozen=True)
class RunSpec:
    liquid: str
    temperature_K: float
    charge_scale: float

    @property
    def name(self) -> str:
        return f"{self.liquid}_T{self.temperature_K:.2f}_q{self.charge_scale:.2f}"

    @property
    def counts(self) -> dict[str, int]:
        cat, an = LIQUIDS[self.liquid][:2]
        return {cat: 1, an: 1}


def plan(liquids: list[str], scales: list[float], which_T: list[int]) -> list[RunSpec]:
    """Runs in priority order: for each temperature slot, for each charge scale, every liquid."""
    return [RunSpec(liq, LIQUIDS[liq][2 + k], q) for k in which_T for q in scales for liq in liquids]


def reference_density(spec: RunSpec, lib) -> tuple[float, float | None]:
    """(ρ used to size the box, experimental ρ or None) in g/cm³ at the run's temperature."""
    exp = experimental_density(spec.counts, spec.temperature_K)
    if exp is not None:
        return exp[0], exp[0]
    rho, _ = target_density(spec.counts, {s: lib.get(s) for s in spec.counts}, spec.temperature_K)
    return rho, None


def ion_pairs_for(pair_mass_amu: float, rho_g_cm3: float, min_edge_A: float) -> int:
    """Fewest ion pairs whose cubic box edge is ≥ min_edge_A at 1.05 ρ (V = N m / 1.05 ρ)."""
    v_pair = units.volume_A3_for_density(pair_mass_amu, 1.05 * rho_g_cm3)
    return int(math.ceil(min_edge_A**3 / v_pair))


def analyse(times_ps: list[float], rho: list[float], max_drift_rel: float) -> dict:
    """Production = second half of the trace: mean, block SEM, drift = slope × length, verdicts."""
    t, r = np.asarray(times_ps), np.asarray(rho)
    prod = t >= t[-1] / 2
    tp, rp = t[prod], r[prod]
    mean, sem = block_average(rp, N_BLOCKS)
    drift = float(np.polyfit(tp, rp, 1)[0] * (tp[-1] - tp[0]))
    sigma_drift = math.sqrt(12.0) * float(sem)
    return {"ps": float(t[-1]), "production_ps": float(tp[-1] - tp[0]), "rho_g_cm3": float(mean), "sem_g_cm3": float(sem),
            "drift_g_cm3": drift, "sigma_drift_g_cm3": sigma_drift, "drift_within_sem": bool(abs(drift) <= sem),
            "drift_not_significant": bool(abs(drift) <= 2 * sigma_drift),
            "accepted": bool(abs(drift) <= 2 * sigma_drift and abs(drift) <= max_drift_rel * mean)}


class Run:
    """One NPT run with an OpenMM checkpoint (state.xml) and a density trace (trace.json) in ``folder``."""

    def __init__(self, spec: RunSpec, folder: Path, a, lib):
        import openmm as mm
        from ase.io import read, write

        self.spec, self.folder, self.mm = spec, folder, mm
        cat, an = LIQUIDS[spec.liquid][:2]
        t = {s: clandp_template(lib.get(s), default_clandp()) for s in (cat, an)}
        rho_ref, self.rho_exp = reference_density(spec, lib)
        pair_mass = float(np.sum(t[cat].masses_amu) + np.sum(t[an].masses_amu))
        boxfile = folder / "box.xyz"
        if boxfile.exists():
            box = read(boxfile)
        else:
            n = ion_pairs_for(pair_mass, rho_ref, a.min_edge_A)
            box = packmol_box(t, {cat: n, an: n}, PACK_FRACTION * rho_ref, seed=a.seed)
            folder.mkdir(parents=True, exist_ok=True)
            write(boxfile, box, format="extxyz")
        self.n_pairs = int(np.sum(box.arrays["mol_species"] == cat) // t[cat].n_atoms)
        self.n_atoms, self.mass = len(box), pair_mass * self.n_pairs
        system, _ = build_system(box, t, charge_scale=spec.charge_scale, cutoff_A=SETTINGS["cutoff_A"],
                                 constraints=SETTINGS["constraints"], ewald_tolerance=SETTINGS["ewald_tolerance"],
                                 lj_tail=SETTINGS["lj_tail"])
        system.addForce(mm.MonteCarloBarostat(SETTINGS["pressure_bar"], spec.temperature_K, SETTINGS["barostat_steps"]))
        self.dt_ps = SETTINGS["timestep_fs"] * 1e-3
        self.integ = mm.LangevinMiddleIntegrator(spec.temperature_K, SETTINGS["friction_per_ps"], self.dt_ps)
        self.integ.setRandomNumberSeed(a.seed + 1)
        self.ctx = mm.Context(system, self.integ, mm.Platform.getPlatformByName("CPU"))
        self.trace = {"times_ps": [], "rho_g_cm3": [], "wall_s": 0.0}
        self._start(box, a.seed)

    def _start(self, box, seed: int) -> None:
        """Continue from state.xml, or minimise the packed box and draw velocities."""
        mm = self.mm
        state, trace = self.folder / "state.xml", self.folder / "trace.json"
        if state.exists() and trace.exists():
            self.ctx.setState(mm.XmlSerializer.deserialize(state.read_text()))
            self.trace = json.loads(trace.read_text())
            return
        self.ctx.setPeriodicBoxVectors(*box_vectors_nm(box.cell[:]))
        self.ctx.setPositions(positions_nm(box))
        mm.LocalEnergyMinimizer.minimize(self.ctx, 10.0, 2000)
        self.ctx.setVelocitiesToTemperature(self.spec.temperature_K, seed + 1)

    def advance(self, ps: float) -> None:
        """Run ``ps`` more picoseconds, recording ρ every RECORD_PS, then checkpoint."""
        n_rec = int(round(RECORD_PS / self.dt_ps))
        t0 = time.perf_counter()
        t_now = self.trace["times_ps"][-1] if self.trace["times_ps"] else 0.0
        for _ in range(int(round(ps / RECORD_PS))):
            self.integ.step(n_rec)
            t_now += RECORD_PS
            vol_A3 = self.ctx.getState().getPeriodicBoxVolume()._value / A_TO_NM**3
            self.trace["times_ps"].append(round(t_now, 6))
            self.trace["rho_g_cm3"].append(units.density_g_cm3(self.mass, vol_A3))
        self.trace["wall_s"] += time.perf_counter() - t0
        st = self.ctx.getState(getPositions=True, getVelocities=True, enforcePeriodicBox=False)
        (self.folder / "state.xml").write_text(self.mm.XmlSerializer.serialize(st))
        write_json_atomic(self.folder / "trace.json", self.trace)


def finish(run: Run, status: str, a) -> dict:
    """result.json of a run: its analysis, experiment and deviation, speed."""
    tr = run.trace
    res = {"run": run.spec.name, "liquid": run.spec.liquid, "temperature_K": run.spec.temperature_K,
           "charge_scale": run.spec.charge_scale, "n_ion_pairs": run.n_pairs, "n_atoms": run.n_atoms,
           "settings": SETTINGS, "status": status, "wall_s": tr["wall_s"],
           "ns_per_day": tr["times_ps"][-1] * 1e-3 / (tr["wall_s"] / 86400) if tr["wall_s"] else None,
           **analyse(tr["times_ps"], tr["rho_g_cm3"], a.max_drift_rel), "rho_exp_g_cm3": run.rho_exp}
    res["deviation_percent"] = None if run.rho_exp is None else 100 * (res["rho_g_cm3"] / run.rho_exp - 1)
    write_json_atomic(run.folder / "result.json", res)
    return res


def run_one(spec: RunSpec, out: Path, a, lib, deadline: float) -> dict | None:
    """Run (or continue) ``spec`` until accepted, ``--max-ps`` long, or the deadline (status ``cut``)."""
    folder = out / spec.name
    done = folder / "result.json"
    if done.exists() and json.loads(done.read_text())["status"] != "cut":
        return json.loads(done.read_text())
    run = Run(spec, folder, a, lib)
    target = a.initial_ps
    while True:
        t = run.trace["times_ps"][-1] if run.trace["times_ps"] else 0.0
        if t >= target - 1e-6:
            res = analyse(run.trace["times_ps"], run.trace["rho_g_cm3"], a.max_drift_rel)
            if res["accepted"] or t >= a.max_ps - 1e-6:
                return finish(run, "accepted" if res["accepted"] else "max_length", a)
            target = min(a.max_ps, RECORD_PS * math.ceil(1.5 * t / RECORD_PS))
            log.info("%s: drift %.4f g/cm3 (sigma %.4f) after %.0f ps; extending to %.0f ps",
                     spec.name, res["drift_g_cm3"], res["sigma_drift_g_cm3"], t, target)
        if time.time() > deadline:
            return finish(run, "cut", a) if t >= 10 * RECORD_PS * N_BLOCKS / 2 else None
        run.advance(min(a.chunk_ps, target - t))
        log.info("%s: %.1f ps, rho %.4f g/cm3, %.1f ns/day", spec.name, run.trace["times_ps"][-1],
                 run.trace["rho_g_cm3"][-1], run.trace["times_ps"][-1] * 1e-3 / (run.trace["wall_s"] / 86400))


def table(results: list[dict]) -> str:
    """Markdown table of finished runs."""
    rows = ["| IL | T (K) | charges | ion pairs (atoms) | ns run | ρ (g/cm³) ± err | drift over prod. half | "
            "drift ≤ err | experiment (g/cm³) | deviation % | status |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        exp = "n/a" if r["rho_exp_g_cm3"] is None else f"{r['rho_exp_g_cm3']:.4f}"
        dev = "n/a" if r["deviation_percent"] is None else f"{r['deviation_percent']:+.1f}"
        rows.append(f"| {r['liquid']} | {r['temperature_K']:.2f} | ×{r['charge_scale']:.1f} | {r['n_ion_pairs']} ({r['n_atoms']}) | "
                    f"{r['ps'] / 1000:.3f} | {r['rho_g_cm3']:.4f} ± {r['sem_g_cm3']:.4f} | {r['drift_g_cm3']:+.4f} | "
                    f"{'yes' if str(r['drift_within_sem']) == 'True' else 'no'} | {exp} | {dev} | {r['status']} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="output folder (one subfolder per run; rerun to resume)")
    ap.add_argument("--liquids", nargs="+", default=list(LIQUIDS), choices=list(LIQUIDS))
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0, 0.8], help="charge scales, in priority order")
    ap.add_argument("--temperatures", nargs="+", type=int, default=[0, 1], help="temperature slots (0: first, 1: second)")
    ap.add_argument("--min-edge-A", type=float, default=25.0)
    ap.add_argument("--initial-ps", type=float, default=60.0, help="first run length (half of it production)")
    ap.add_argument("--max-ps", type=float, default=200.0)
    ap.add_argument("--chunk-ps", type=float, default=5.0, help="checkpoint interval")
    ap.add_argument("--max-drift-rel", type=float, default=0.005, help="largest accepted |drift| / ρ")
    ap.add_argument("--budget-min", type=float, default=70.0, help="wall minutes after which no run goes on")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--table-only", action="store_true", help="print the table of finished runs and stop")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    deadline = time.time() + 60 * a.budget_min
    lib = load_library()
    results = []
    for spec in plan(a.liquids, a.scales, a.temperatures):
        if a.table_only:
            f = a.out / spec.name / "result.json"
            r = json.loads(f.read_text()) if f.exists() else None
        else:
            r = run_one(spec, a.out, a, lib, deadline) if time.time() < deadline else None
        if r is None:
            log.info("%s: not run (time budget)", spec.name)
        else:
            results.append(r)
    print(table(results))
    for liq, why in NOT_COVERED.items():
        print(f"\n{liq}: not run ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
