"""Run the analyses a recipe asks for over MD runs, and the fits across state points.

``analyze_trajectory`` gives one run's numbers; ``analyze_runs`` adds density-vs-temperature
(dρ/dT, α) and Tait (κ_T) fits across runs. Output is a JSON-able dict (numpy arrays as lists).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ilforge.analysis.base import AnalysisError
from ilforge.analysis.settings import AnalysisSettings
from ilforge.units import BAR_TO_MPA

log = logging.getLogger(__name__)


def jsonable(x):
    """numpy -> plain Python, recursively (dict keys become strings)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def load_run(path):
    """A run directory (its production trajectory) or an H5MD file -> (Trajectory, its MDResult or None)."""
    from ilforge.md.result import PRODUCTION, MDResult
    from ilforge.md.trajectory import read_h5md

    p = Path(path)
    if p.is_dir():
        return read_h5md(p / PRODUCTION), MDResult.load(p)
    return read_h5md(p), None


def _charged_pairs(traj):
    from ilforge.analysis.conductivity import formal_charges

    names = list(dict.fromkeys(traj.mol_species))
    z = formal_charges(names)
    cats = [s for s in names if z[s] > 0]
    ans = [s for s in names if z[s] < 0]
    return [(c, a) for c in cats for a in ans] + [(c, c) for c in cats] + [(a, a) for a in ans]


def analyze_trajectory(traj, settings: AnalysisSettings, viscosity_Pa_s: float | None = None) -> dict:
    """All requested analyses of one trajectory (frames before ``skip_ps`` dropped)."""
    from ilforge.analysis.conductivity import Conductivity
    from ilforge.analysis.density import Density
    from ilforge.analysis.diffusion import SelfDiffusion
    from ilforge.analysis.geometry import max_cutoff
    from ilforge.analysis.ion_environment import IonEnvironment
    from ilforge.analysis.rdf import RDF
    from ilforge.analysis.structure_factor import XRayStructureFactor

    if settings.skip_ps > 0:
        start = int(np.searchsorted(traj.time_ps - traj.time_ps[0], settings.skip_ps))
        traj = traj.slice(start)
    if traj.n_frames < 2 * settings.n_blocks:
        raise AnalysisError(f"only {traj.n_frames} frames: need at least {2 * settings.n_blocks} for {settings.n_blocks} blocks; run longer or save more often")
    out: dict = {"n_frames": traj.n_frames, "time_ps": [float(traj.time_ps[0]), float(traj.time_ps[-1])]}
    props = settings.properties
    npt = np.ptp(traj.volumes_A3) > 0
    if "density" in props:
        out["density"] = Density(traj, settings.n_blocks, fluctuations=npt).run().results
    has_mols = traj.mol_id is not None and traj.mol_species is not None
    if "diffusion" in props and has_mols:
        out["diffusion"] = SelfDiffusion(traj, fit_window_ps=settings.msd_fit_window_ps, n_blocks=settings.n_blocks,
                                         viscosity_Pa_s=viscosity_Pa_s or settings.viscosity_Pa_s).run().results
    if "conductivity" in props and has_mols:
        try:
            out["conductivity"] = Conductivity(traj, fit_window_ps=settings.msd_fit_window_ps, n_blocks=settings.n_blocks).run().results
        except AnalysisError as exc:
            log.warning("conductivity skipped: %s", exc)
    if "rdf" in props:
        rmax = min(settings.rdf_rmax_A, 0.999 * min(max_cutoff(c) for c in traj.cells))
        rdfs = {}
        for a, b in settings.rdf_pairs:
            cut = settings.cn_cutoffs_A.get(f"{a}-{b}")
            rdfs[f"{a}-{b}"] = RDF(traj, a, b, rmax, settings.rdf_bins, cutoff_A=cut, n_blocks=settings.n_blocks).run().results
        if has_mols:
            pairs = settings.com_rdf_pairs or _charged_pairs(traj)
            for a, b in pairs:
                cut = settings.cn_cutoffs_A.get(f"com:{a}-{b}")
                rdfs[f"com:{a}-{b}"] = RDF(traj, a, b, rmax, settings.rdf_bins, centres_of_mass=True, cutoff_A=cut,
                                           n_blocks=settings.n_blocks).run().results
        out["rdf"] = rdfs
    if "sq" in props:
        out["sq"] = XRayStructureFactor(traj, rmax_A=settings.sq_rmax_A, experiment=settings.sq_experiment).run().results
    if "ions" in props and has_mols and settings.cation in set(traj.symbols):
        out["ions"] = IonEnvironment(traj, settings.cation, coordinating=settings.coordinating_elements, cutoff_A=settings.coordination_cutoff_A,
                                     close_contact_A=settings.close_contact_A, n_blocks=settings.n_blocks).run().results
    return out


def experimental_viscosity_Pa_s(system: str, temperature_K: float, tol_K: float = 5.0) -> float | None:
    """Experimental viscosity of ``system`` at the temperature closest to T within ``tol_K`` (mean of the
    records there; shipped reference data), or None."""
    from ilforge.experiment.reference import lookup

    recs = lookup(system, "viscosity_Pa_s", temperature_K, None, tol_K)
    if not recs:
        return None
    dT = min(abs(r.T_K - temperature_K) for r in recs)
    return float(np.mean([r.value for r in recs if abs(r.T_K - temperature_K) == dT]))


def analyze_runs(paths, settings: AnalysisSettings, viscosity_Pa_s: float | None = None, system: str | None = None) -> dict:
    """Analyse each run and fit ρ(T) (at the lowest pressure) and the Tait equation (per temperature).

    The Yeh–Hummer correction uses ``viscosity_Pa_s``, else ``settings.viscosity_Pa_s``, else the
    experimental viscosity of ``system`` at the run's temperature when the shipped data have one.
    """
    from ilforge.analysis.eos import linear_density_fit, tait_fit

    runs = []
    for p in paths:
        traj, info = load_run(p)
        eta = viscosity_Pa_s or settings.viscosity_Pa_s
        if eta is None and system and traj.metadata.get("temperature_K") is not None:
            eta = experimental_viscosity_Pa_s(system, float(traj.metadata["temperature_K"]))
            if eta is None:
                log.warning("no experimental viscosity of %s near %s K: no Yeh-Hummer correction", system, traj.metadata["temperature_K"])
        res = analyze_trajectory(traj, settings, eta)
        meta = traj.metadata
        res.update(path=str(p), temperature_K=meta.get("temperature_K"), pressure_bar=meta.get("pressure_bar"),
                   ensemble=meta.get("ensemble"), status=info.status if info is not None else None)
        runs.append(res)
    doc: dict = {"runs": runs, "eos": {}}
    dens = [(r["temperature_K"], r["pressure_bar"], r["density"]["density_mean_g_cm3"], r["density"]["density_err_g_cm3"])
            for r in runs if "density" in r and r.get("temperature_K") is not None]
    if dens:
        P_low = min((d[1] for d in dens if d[1] is not None), default=None)
        atP = [d for d in dens if d[1] == P_low]
        if len({d[0] for d in atP}) >= 2:
            T, _, rho, err = map(np.array, zip(*atP))
            doc["eos"]["density_vs_T"] = linear_density_fit(T, rho, np.where(err > 0, err, np.nan) if np.all(err > 0) else None)
        tait = {}
        for T in sorted({d[0] for d in dens}):
            atT = [d for d in dens if d[0] == T and d[1] is not None]
            if len({d[1] for d in atT}) >= 2:
                _, P, rho, err = map(np.array, zip(*atT))
                tait[f"{T:g}"] = tait_fit(P * BAR_TO_MPA, rho, err if np.all(err > 0) else None)
        if tait:
            doc["eos"]["tait"] = tait
    return jsonable(doc)
