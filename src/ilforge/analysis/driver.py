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
    """A run directory (its production trajectory) or an H5MD file -> (Trajectory, its MDResult or None).

    A missing, corrupt or truncated file raises :class:`AnalysisError` naming it."""
    from ilforge.md.result import PRODUCTION, MDResult
    from ilforge.md.trajectory import TrajectoryError, read_h5md

    p = Path(path)
    f = p / PRODUCTION if p.is_dir() else p
    if not p.exists():
        raise AnalysisError(f"{p}: no such run directory or trajectory file; give MD run directories (with {PRODUCTION}) or H5MD files")
    try:
        traj = read_h5md(f)
    except TrajectoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError/KeyError/ValueError... for damaged files
        raise AnalysisError(f"{f}: cannot read this trajectory, the file is corrupt, truncated or not H5MD "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); rerun `ilforge md` "
                            f"for this state point (or leave it out)") from None
    if not p.is_dir():
        return traj, None
    try:
        return traj, MDResult.load(p)
    except Exception as exc:  # noqa: BLE001 - a damaged run.json must not hide the trajectory's numbers
        log.warning("%s: run.json unreadable (%s); analysing the trajectory without its run status", p, exc)
        return traj, None


def _asked(settings: AnalysisSettings, prop: str) -> bool:
    """True when ``prop`` was listed explicitly (``--properties`` or the recipe), not just by default."""
    return prop in settings.properties and "properties" in settings.model_fields_set


def species_charges(traj, settings: AnalysisSettings) -> tuple[dict | None, Exception | None]:
    """(formal charge per species, None), or (None, the MissingChargesError) when a species has no
    known charge (library, ``settings.charges``), or (None, None) without species."""
    from ilforge.analysis.conductivity import MissingChargesError, formal_charges

    if traj.mol_species is None:
        return None, None
    try:
        return formal_charges(dict.fromkeys(map(str, traj.mol_species)), settings.charges), None
    except MissingChargesError as exc:
        return None, exc


def _charged_pairs(charges: dict) -> list[tuple[str, str]]:
    """Cation-anion, cation-cation and anion-anion species pairs."""
    cats = [s for s, z in charges.items() if z > 0]
    ans = [s for s, z in charges.items() if z < 0]
    return [(c, a) for c in cats for a in ans] + [(c, c) for c in cats] + [(a, a) for a in ans]


def _atoms_as_molecules(traj):
    """A trajectory without molecule arrays, each atom a molecule of its element (atomic liquids)."""
    t = traj.slice()
    t.mol_id, t.mol_species = np.arange(traj.n_atoms), traj.symbols
    return t


def _rdfs(traj, settings: AnalysisSettings, charges: dict | None, missing) -> dict:
    """Element-pair RDFs, explicit centre-of-mass RDFs, and by default the charged species' COM RDFs."""
    from ilforge.analysis.geometry import max_cutoff
    from ilforge.analysis.rdf import RDF

    rmax = min(settings.rdf_rmax_A, 0.999 * min(max_cutoff(c) for c in traj.cells))
    kw = dict(nbins=settings.rdf_bins, n_blocks=settings.n_blocks)
    rdfs = {}
    for a, b in settings.rdf_pairs:
        rdfs[f"{a}-{b}"] = RDF(traj, a, b, rmax, cutoff_A=settings.cn_cutoffs_A.get(f"{a}-{b}"), **kw).run().results
    pairs = settings.com_rdf_pairs
    if not pairs and traj.mol_id is not None and traj.mol_species is not None:
        if charges is not None:
            pairs = _charged_pairs(charges)
        elif missing is not None:
            log.info("no default centre-of-mass RDFs: %s", missing)
    for a, b in pairs:
        rdfs[f"com:{a}-{b}"] = RDF(traj, a, b, rmax, centres_of_mass=True, cutoff_A=settings.cn_cutoffs_A.get(f"com:{a}-{b}"),
                                   **kw).run().results
    return rdfs


def _charged_analysis(name: str, settings: AnalysisSettings, missing, make):
    """Run ``make()`` (an analysis that needs formal charges). When charges are missing or it fails:
    raise if ``name`` was asked for explicitly, else log and return None."""
    try:
        if missing is not None:
            raise missing
        return make()
    except AnalysisError as exc:
        if _asked(settings, name):
            raise
        (log.info if exc is missing else log.warning)("%s skipped: %s", name, exc)
        return None


def analyze_trajectory(traj, settings: AnalysisSettings, viscosity_Pa_s: float | None = None) -> dict:
    """All requested analyses of one trajectory (frames before ``skip_ps`` dropped).

    Element RDFs, density, S(q) and diffusion need no species library; conductivity, the Li⁺
    environment and the default centre-of-mass RDFs need every species' formal charge
    (:func:`species_charges`) and are skipped without it unless listed in ``properties``."""
    from ilforge.analysis.conductivity import Conductivity
    from ilforge.analysis.density import Density
    from ilforge.analysis.diffusion import SelfDiffusion
    from ilforge.analysis.ion_environment import IonEnvironment
    from ilforge.analysis.structure_factor import XRayStructureFactor

    if settings.skip_ps > 0:
        traj = traj.slice(int(np.searchsorted(traj.time_ps - traj.time_ps[0], settings.skip_ps)))
    if traj.n_frames < 2 * settings.n_blocks:
        raise AnalysisError(f"only {traj.n_frames} frames: need at least {2 * settings.n_blocks} for {settings.n_blocks} blocks; run longer or save more often")
    out: dict = {"n_frames": traj.n_frames, "time_ps": [float(traj.time_ps[0]), float(traj.time_ps[-1])]}
    props, nb, window = settings.properties, settings.n_blocks, settings.msd_fit_window_ps
    has_mols = traj.mol_id is not None and traj.mol_species is not None
    charges, missing = species_charges(traj, settings)
    if "density" in props:
        out["density"] = Density(traj, nb, fluctuations=np.ptp(traj.volumes_A3) > 0).run().results
    if "diffusion" in props:
        out["diffusion"] = SelfDiffusion(traj if has_mols else _atoms_as_molecules(traj), fit_window_ps=window, n_blocks=nb,
                                         viscosity_Pa_s=viscosity_Pa_s or settings.viscosity_Pa_s).run().results
    if "conductivity" in props and (has_mols or _asked(settings, "conductivity")):
        res = _charged_analysis("conductivity", settings, missing,
                                lambda: Conductivity(traj, charges=charges, fit_window_ps=window, n_blocks=nb).run().results)
        if res is not None:
            out["conductivity"] = res
    if "rdf" in props:
        out["rdf"] = _rdfs(traj, settings, charges, missing)
    if "sq" in props:
        out["sq"] = XRayStructureFactor(traj, rmax_A=settings.sq_rmax_A, experiment=settings.sq_experiment).run().results
    if "ions" in props and ((has_mols and settings.cation in set(traj.symbols)) or _asked(settings, "ions")):
        res = _charged_analysis("ions", settings, missing, lambda: IonEnvironment(
            traj, settings.cation, coordinating=settings.coordinating_elements, cutoff_A=settings.coordination_cutoff_A,
            close_contact_A=settings.close_contact_A, n_blocks=nb, charges=charges).run().results)
        if res is not None:
            out["ions"] = res
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


def recipe_analysis_settings(recipe) -> AnalysisSettings:
    """A recipe's ``analysis`` section, with the formal charges of the recipe's own species
    (``species:`` entries) added to ``charges`` (explicit ``analysis.charges`` win)."""
    extra = {str(sd.name): float(sd.charge) for sd in (getattr(recipe, "species", None) or [])}
    if not extra:
        return recipe.analysis
    return recipe.analysis.model_copy(update={"charges": {**extra, **recipe.analysis.charges}})
