"""Pre-flight reference check (``ilforge reference check``): how far will a reference level put the
liquid's density from experiment, before any frame is labelled?

On a few classical snapshots of the recipe's first training composition at its experimental
density (else the recipe's or estimated packing density), each method's **molecular virial
pressure** is

    P_mol = −tr(σ)/3 − (1/3V) Σ_i (r_i − R_M(i))·F_i + N_mol k_B T / V

with σ the method's stress (eV/Å³, ASE sign: σ = −P for a hydrostatic pressure P), F_i its forces
(eV/Å), r_i the atoms of whole molecules and R_M(i) the centre of mass of atom i's molecule, V the
volume (Å³), N_mol the number of molecules and T the temperature (molecular kinetic term). The
first two terms are the configurational pressure of rigid molecules: −dE/dV when every molecule
moves with its centre of mass and keeps its shape. It does not see each method's bond lengths
differing from the force field's (the intramolecular virial that dominates the atomic pressure),
only the intermolecular forces that set the density.

The density this implies assumes the method's equation of state is the experimental one shifted by a
constant pressure p_ref (the pressure above): its liquid at P = 0 sits where P_exp(V) = −p_ref. With
the experimental κT the Tait equation (universal C = 0.0894, B = C/κT) gives
V/V0 = 1 − C ln(1 − p_ref/B); without one (or beyond the Tait range, p_ref ≥ B) a linear estimate
V/V0 = 1 + κT p_ref. The density error is V0/V − 1. On CL&P-thermalised EMIM-BF4 at 1.280 g/cm³
(issue 15): GFN1-xTB −1.24 GPa (+19 %), GFN2-xTB −0.10 GPa (+3 %), CL&P +0.4 GPa.
"""

from __future__ import annotations

import logging
import math
import time
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from ase import Atoms

from ilforge import keys, units
from ilforge.errors import IlforgeError, RecipeError
from ilforge.jsonio import write_extxyz_atomic
from ilforge.project import GENERIC_FF_CACHE, REFERENCE_CHECK, Project, writes_project
from ilforge.reference.base import Labeler
from ilforge.reference.settings import CheckMethod

log = logging.getLogger(__name__)

#: Tait's universal constant C (Dymond and Malhotra, Int. J. Thermophys. 9, 941 (1988))
TAIT_C = 0.0894
#: κT (1/GPa) for the linear estimate when experiment has none: a typical ionic liquid (0.3-0.6)
TYPICAL_KAPPA_T_GPA = 0.45
#: |implied density error| above which the check warns, %
WARN_PERCENT = 5.0
#: time step (fs) and Langevin friction (1/ps) of the MD at a method's own level (``own_md_steps``): X–H
#: bonds free, and a strong thermostat for the heat a classical structure releases as it relaxes
OWN_MD_TIMESTEP_FS = 0.5
OWN_MD_FRICTION_PER_PS = 10.0
#: said under the table when the pressures were measured on the force field's structures
ON_CLASSICAL_STRUCTURES = (
    "Measured on the force field's structures: a method's pressure on structures it made itself can differ "
    "by several tenths of a GPa (GFN2-xTB on EMIM-BF4: -0.1 GPa on CL&P snapshots, +0.45 GPa after 0.1 ps of its "
    "own MD, i.e. 13 % lighter; docs/reference_check.md). reference_check.own_md_steps (--own-md-steps) measures it.")
#: the cheap ladder run by default (those whose packages are installed)
DEFAULT_METHODS = ("labeler", "gfn1", "gfn2", "classical")
#: every method name ``--methods`` accepts
KNOWN_METHODS = typing.get_args(CheckMethod)


def molecular_virial_pressure(atoms: Atoms, forces: np.ndarray, stress, temperature_K: float) -> float:
    """P_mol (eV/Å³) of ``atoms`` (molecules whole, ``mol_id`` array) from a method's ``forces``
    (n, 3) eV/Å and ``stress`` (Voigt 6 or 3×3, eV/Å³, ASE sign); see the module docstring."""
    from ilforge.forcefields.openmm_system import molecules_of
    from ilforge.labels import voigt

    s = voigt(stress)
    vol = atoms.get_volume()
    masses = atoms.get_masses()
    f = np.asarray(forces, dtype=float)
    intra = 0.0
    mols = molecules_of(atoms)
    for _, idx in mols:
        com = masses[idx] @ atoms.positions[idx] / masses[idx].sum()
        intra += float(np.sum((atoms.positions[idx] - com) * f[idx]))
    return float(-(s[0] + s[1] + s[2]) / 3.0 - intra / (3.0 * vol) + len(mols) * units.KB_EV_K * temperature_K / vol)


def atomic_virial_pressure(atoms: Atoms, stress, temperature_K: float) -> float:
    """P (eV/Å³) = −tr(σ)/3 + N_atoms k_B T / V: the atomic virial pressure of a method's ``stress``
    (Voigt 6 or 3×3, eV/Å³, ASE sign) with the atoms' kinetic term at ``temperature_K``."""
    from ilforge.labels import voigt

    s = voigt(stress)
    return float(-(s[0] + s[1] + s[2]) / 3.0 + len(atoms) * units.KB_EV_K * temperature_K / atoms.get_volume())


def own_md_note(own_md_steps: int) -> str:
    """How the snapshots were used, for the table and the report: '' or ', each then N steps of MD …'."""
    return f", each then {own_md_steps} steps of MD at every method's own level" if own_md_steps else ""


def implied_density_error(p_ref_GPa: float, kappa_T_per_GPa: float | None) -> tuple[float | None, str]:
    """(ρ_method/ρ_exp − 1, model) for a method whose pressure at the experimental density is
    ``p_ref_GPa``: Tait with ``kappa_T_per_GPa`` when given and p_ref < B, else linear (see module doc)."""
    if kappa_T_per_GPa is not None:
        b = TAIT_C / kappa_T_per_GPa
        if p_ref_GPa < b:
            v = 1.0 - TAIT_C * math.log(1.0 - p_ref_GPa / b)
            return 1.0 / v - 1.0, f"Tait (C = {TAIT_C}, B = C/κT = {b:.3f} GPa)"
        kappa, model = kappa_T_per_GPa, f"linear κT (beyond the Tait range p_ref >= B = {b:.3f} GPa)"
    else:
        kappa, model = TYPICAL_KAPPA_T_GPA, f"linear, typical ionic-liquid κT = {TYPICAL_KAPPA_T_GPA} 1/GPa"
    v = 1.0 + kappa * p_ref_GPa
    return (1.0 / v - 1.0 if v > 0 else None), model


def experimental_kappa_T(counts: dict[str, int], temperature_K: float) -> tuple[float | None, str]:
    """(κT in 1/GPa, source) at 0.1 MPa closest to ``temperature_K`` (within 10 K), or (None, why)."""
    from ilforge.experiment.densities import experiment_system
    from ilforge.experiment.reference import lookup

    system = experiment_system(counts)
    if system is None:
        return None, "no experimental data for this composition"
    recs = lookup(system, "kappa_T_GPa-1", temperature_K, tol_K=10.0)
    if not recs:
        return None, f"no measured κT of {system} near {temperature_K:g} K"
    best = min(recs, key=lambda r: abs(r.T_K - temperature_K))
    return float(best.value), f"experiment ({system}, {best.T_K:g} K: {best.citation})"


@dataclass
class MethodPressure:
    """One method's molecular virial pressure over the snapshots and what it implies."""

    name: str
    level_of_theory: str = ""
    chosen: bool = False  # the recipe's labeler
    frame_pressures_GPa: list[float] = field(default_factory=list)
    pressure_GPa: float | None = None  # mean over snapshots
    pressure_spread_GPa: float | None = None  # sample standard deviation over snapshots
    atomic_pressure_GPa: float | None = None  # mean −tr(σ)/3 + N_atoms k_B T / V, for comparison
    implied_density_error_percent: float | None = None
    eos_model: str = ""
    seconds_per_frame: float | None = None
    skipped: str | None = None  # why it was not computed
    warning: str | None = None


@dataclass
class ReferenceCheckResult:
    """The pre-flight check of one composition and temperature (``results/reference_check.json``)."""

    composition_id: str
    temperature_K: float
    n_atoms: int
    n_molecules: int
    density_g_cm3: float
    density_source: str
    thermalised_with: str
    n_frames: int
    kappa_T_per_GPa: float | None
    kappa_T_source: str
    own_md_steps: int = 0  # MD steps at each method's own level before measuring (0: the snapshots as they are)
    warn_percent: float = WARN_PERCENT
    methods: list[MethodPressure] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        return {"composition_id": self.composition_id, "methods": {
            m.name: m.pressure_GPa for m in self.methods if m.skipped is None}}


def _snapshot_frames(project: Project, recipe, comp, temperature_K: float, n_frames: int,
                     thermalise_ps: float, interval_ps: float) -> tuple[list[Atoms], str, str, float]:
    """``n_frames`` whole-molecule snapshots of NVT classical MD at the box's density (the project's
    packed box, else one packed now at the experimental or estimated density); returns (frames,
    force-field name, density source, the cutoff used in Å: the sampler's for small boxes)."""
    from ilforge.forcefields.assign import forcefield_name
    from ilforge.forcefields.openmm_system import build_system
    from ilforge.sample.md import make_molecules_whole, run_classical_md
    from ilforge.sample.runner import effective_cutoff, load_box
    from ilforge.seeds import derive_seed

    box = make_molecules_whole(load_box(project, recipe, comp, temperature_K))
    ff, templates = thermalising_forcefield(project, recipe, comp)
    cutoff = effective_cutoff(box, ff.cutoff_A)
    opts = ff.system_options(cutoff)
    system, info = build_system(box, templates, constraints="none", **opts)
    s = recipe.sampling
    res = run_classical_md(
        box, system, info, temperature_K, timestep_fs=s.timestep_fs, friction_per_ps=s.friction_per_ps,
        equilibration_ps=0.0, production_ps=thermalise_ps + n_frames * interval_ps, ensemble="nvt",
        interval_ps=interval_ps, seed=derive_seed(recipe.seed, "reference-check", comp.id, temperature_K),
        platform=s.platform,
    )
    frames = [make_molecules_whole(f) for f in res.frames[-n_frames:]]
    return frames, f"{forcefield_name(ff)} NVT {thermalise_ps:g}+{n_frames}x{interval_ps:g} ps", str(
        box.info.get(keys.DENSITY_SOURCE, "the packed box")), cutoff


def thermalising_forcefield(project: Project, recipe, comp):
    """(ForceFieldSettings, templates) of the snapshots: CL&P (the recipe's charge scale and
    cutoff) when every species of ``comp`` has CL&P parameters, else the recipe's force field."""
    from ilforge.forcefields.assign import templates_for

    lib = recipe.library()
    cache = project.cache_dir(GENERIC_FF_CACHE)
    if recipe.forcefield.type != "clandp":
        ff = recipe.forcefield.model_copy(update={"type": "clandp", "path": None, "molecule_files": {}})
        try:
            return ff, templates_for(sorted(comp.counts), lib, ff, cache_dir=cache, seed=recipe.seed)
        except (IlforgeError, KeyError, FileNotFoundError) as exc:
            log.info("species not all in CL&P (%s); thermalising with the recipe's force field", exc)
    return recipe.forcefield, templates_for(sorted(comp.counts), lib, recipe.forcefield, cache_dir=cache,
                                            seed=recipe.seed)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _xtb(method: str) -> Callable[[], Labeler]:
    def build() -> Labeler:
        from ilforge.reference.registry import make_labeler
        from ilforge.reference.settings import LabelSettings

        return make_labeler(LabelSettings(labeler="xtb", method=method))
    return build


def _classical(project: Project, recipe, comp, cutoff_A: float) -> Callable[[], Labeler]:
    def build() -> Labeler:
        from ilforge.reference.classical import ClassicalLabeler

        ff, _ = thermalising_forcefield(project, recipe, comp)
        width = min(getattr(ff, "lj_switch_width_A", 0.0), 0.5 * cutoff_A)
        ff = ff.model_copy(update={"cutoff_A": cutoff_A, **({"lj_switch_width_A": width} if width else {})})
        return ClassicalLabeler.from_recipe(recipe.model_copy(update={"forcefield": ff}),
                                            cache_dir=project.cache_dir(GENERIC_FF_CACHE))
    return build


def _cp2k() -> Labeler:
    import shutil

    from ilforge.reference.registry import make_labeler
    from ilforge.reference.settings import LabelSettings

    lab = make_labeler(LabelSettings(labeler="cp2k", method="PBE", options={"dispersion": None}))
    argv = getattr(lab, "argv", None) or str(getattr(lab, "command", "cp2k_shell.psmp")).split()
    if shutil.which(argv[0]) is None:
        raise IlforgeError(f"the CP2K shell {argv[0]!r} is not on PATH")
    return lab


def _sevennet_skip() -> str | None:
    """Why the SevenNet-0 rung cannot run (its environment is not created), or None."""
    from ilforge.envs.manager import is_ready

    return None if is_ready("sevenn") else "no sevenn environment: create it with `ilforge env create sevenn` (~1.5 GB)"


def _sevennet() -> Labeler:
    from ilforge.reference.registry import make_labeler
    from ilforge.reference.settings import LabelSettings

    return make_labeler(LabelSettings(labeler="sevennet", options={"model": "7net-0"}))


def _recipe_labeler(project: Project, recipe, cutoff_A: float) -> Callable[[], Labeler]:
    def build() -> Labeler:
        from ilforge.reference.registry import make_labeler

        r = recipe
        if recipe.labels.labeler == "classical":  # small boxes: the sampler's reduced cutoff
            r = recipe.model_copy(update={"forcefield": recipe.forcefield.model_copy(update={"cutoff_A": cutoff_A})})
        return make_labeler(r.labels, r, project.cache_dir(GENERIC_FF_CACHE))
    return build


def _check_names(names) -> None:
    unknown = sorted(set(names) - set(KNOWN_METHODS))
    if unknown or not names:
        raise RecipeError(f"--methods: unknown {unknown or 'empty list'}; choose from {', '.join(KNOWN_METHODS)}")


def method_ladder(project: Project, recipe, comp, names, cutoff_A: float) -> list[tuple[str, Callable | str, str | None]]:
    """(display name, labeler factory or the reason it is skipped, D3 functional for an extra
    "+D3(BJ)" row or None) for each method name of ``names`` (see :data:`KNOWN_METHODS`)."""
    _check_names(names)
    xtb_ok = None if _installed("tblite") else "tblite not installed (pip install 'ilforge[xtb]')"
    mm_ok = None if _installed("openmm") else "openmm not installed (pip install 'ilforge[classical]')"
    d3 = "pbe" if _installed("dftd3") else None
    out = []
    for n in names:
        if n == "labeler":
            out.append((f"{recipe.labels.method or recipe.labels.labeler} (recipe)", _recipe_labeler(project, recipe, cutoff_A), None))
        elif n in ("gfn1", "gfn2"):
            out.append(({"gfn1": "GFN1-xTB", "gfn2": "GFN2-xTB"}[n], xtb_ok or _xtb({"gfn1": "GFN1-xTB", "gfn2": "GFN2-xTB"}[n]), None))
        elif n == "classical":
            out.append(("classical", mm_ok or _classical(project, recipe, comp, cutoff_A), None))
        elif n == "cp2k":
            out.append(("CP2K PBE", _cp2k, d3))
        else:
            out.append(("SevenNet-0", _sevennet_skip() or _sevennet, d3))
    return out


def _own_structures(labeler: Labeler, frame: Atoms, temperature_K: float, steps: int, seed: int) -> list:
    """(frame, labels) of the second half of ``steps`` of Langevin NVT at ``labeler``'s level from
    ``frame`` (:data:`OWN_MD_TIMESTEP_FS`, γ = :data:`OWN_MD_FRICTION_PER_PS`, velocities at
    ``temperature_K``), every max(1, steps // 10) steps: structures the method made itself."""
    from ilforge.reference.strategies import reference_md

    every = max(1, steps // 10)
    run = reference_md(frame, labeler, steps, every, OWN_MD_TIMESTEP_FS, temperature_K, OWN_MD_FRICTION_PER_PS, seed)
    return [fl for k, fl in enumerate(run) if (k + 1) * every > steps / 2]


def _pressures(labeler: Labeler, frames: list[Atoms], temperature_K: float, d3: str | None, own_md_steps: int = 0,
               seed: int = 0):
    """Per-snapshot pressures in GPa: P_mol, P_atomic (−tr(σ)/3 + N_atoms k_B T / V) and P_mol with
    D3(BJ) of functional ``d3`` added (None without ``d3``); and the method's seconds per label.
    With ``own_md_steps``, each snapshot's values are means over the second half of that much MD at
    the method's own level (:func:`_own_structures`)."""
    from ilforge.reference.dispersion import d3_labels

    p_mol, p_atomic, p_d3, t0 = [], [], [], time.perf_counter()
    if own_md_steps > 0:
        runs = [_own_structures(labeler, fr, temperature_K, own_md_steps, seed + k) for k, fr in enumerate(frames)]
        n_labels = len(frames) * own_md_steps
    else:
        runs = [[(fr, labeler.label(fr))] for fr in frames]
        n_labels = len(frames)
    dt = (time.perf_counter() - t0) / max(1, n_labels)
    for run in runs:
        mol, atomic, disp = [], [], []
        for fr, lab in run:
            if lab.stress is None:
                raise IlforgeError(f"{labeler.level_of_theory} gives no stress for periodic frames")
            atomic.append(atomic_virial_pressure(fr, lab.stress, temperature_K) / units.GPA)
            mol.append(molecular_virial_pressure(fr, lab.forces, lab.stress, temperature_K) / units.GPA)
            if d3 is not None:
                e = d3_labels(fr, d3, "d3bj")
                disp.append(molecular_virial_pressure(fr, lab.forces + e.forces, lab.stress + e.stress,
                                                      temperature_K) / units.GPA)
        p_mol.append(float(np.mean(mol)))
        p_atomic.append(float(np.mean(atomic)))
        if d3 is not None:
            p_d3.append(float(np.mean(disp)))
    return p_mol, p_atomic, (p_d3 if d3 is not None else None), dt


def _summarise(name: str, lot: str, p_GPa: list[float], p_atomic_GPa: list[float], dt: float,
               kappa: float | None) -> MethodPressure:
    """A :class:`MethodPressure` from per-frame pressures (GPa), with the implied density error."""
    p = np.asarray(p_GPa, dtype=float)
    m = MethodPressure(name, lot, frame_pressures_GPa=[float(x) for x in p], pressure_GPa=float(p.mean()),
                       pressure_spread_GPa=float(p.std(ddof=1)) if len(p) > 1 else 0.0,
                       atomic_pressure_GPa=float(np.mean(p_atomic_GPa)), seconds_per_frame=dt)
    err, m.eos_model = implied_density_error(m.pressure_GPa, kappa)
    m.implied_density_error_percent = None if err is None else 100.0 * err
    if err is None or abs(100.0 * err) > WARN_PERCENT:
        m.warning = (f"{name}: {m.pressure_GPa:+.2f} GPa at the check density implies a density "
                     + ("error beyond the estimate" if err is None else f"{100 * err:+.1f} % off")
                     + f" (more than {WARN_PERCENT:g} %) whatever the MLIP does")
        log.warning("%s", m.warning)
    return m


def _run_method(name: str, build, d3: str | None, frames, temperature_K: float, kappa,
                seen: set[str], own_md_steps: int = 0, seed: int = 0) -> list[MethodPressure]:
    """Rows of one method of the ladder: itself and, with ``d3``, itself + D3(BJ); a skipped row
    when it cannot run; nothing when its level of theory is in ``seen`` (already computed)."""
    if isinstance(build, str):
        return [MethodPressure(name, skipped=build)]
    try:
        labeler = build()
        if labeler.level_of_theory in seen:
            return []
        p_mol, p_atomic, p_d3, dt = _pressures(labeler, frames, temperature_K, d3, own_md_steps, seed)
    except IlforgeError as exc:
        log.warning("reference check: %s skipped: %s", name, exc)
        return [MethodPressure(name, skipped=str(exc))]
    seen.add(labeler.level_of_theory)
    out = [_summarise(name, labeler.level_of_theory, p_mol, p_atomic, dt, kappa)]
    if p_d3 is not None:
        out.append(_summarise(f"{name} + D3(BJ)", f"{labeler.level_of_theory};+D3(BJ):{d3}", p_d3, p_atomic, dt, kappa))
    return out


@writes_project("reference check")
def run_reference_check(project: Project, recipe, methods=None, frames: int = 4, thermalise_ps: float = 10.0,
                        interval_ps: float = 2.0, own_md_steps: int = 0) -> ReferenceCheckResult:
    """Pre-flight check of the recipe's reference level (module docstring): ``frames`` classical
    snapshots (after ``thermalise_ps`` of NVT, ``interval_ps`` apart) of the first training
    composition (else the first composition) at the first temperature; the molecular virial pressure
    of each method of ``methods`` (default :data:`DEFAULT_METHODS`), its spread and the implied
    density error; with ``own_md_steps``, measured after that much MD at each method's own level
    from every snapshot (:func:`_own_structures`). Written to ``results/reference_check.json``."""
    if frames < 1 or not interval_ps > 0 or not thermalise_ps >= 0 or not math.isfinite(thermalise_ps + interval_ps):
        raise IlforgeError(f"reference check: need frames >= 1, interval_ps > 0 and thermalise_ps >= 0 (finite); "
                           f"got {frames}, {interval_ps}, {thermalise_ps}")
    if own_md_steps < 0:
        raise IlforgeError(f"reference check: own_md_steps must be >= 0, got {own_md_steps}")
    methods = list(methods or DEFAULT_METHODS)
    _check_names(methods)
    comps = recipe.resolve_compositions(recipe.library())
    comp = (recipe.training_set(comps) or comps)[0]
    T = float(recipe.temperatures_K[0])
    snaps, ffname, source, cutoff = _snapshot_frames(project, recipe, comp, T, frames, thermalise_ps, interval_ps)
    kappa, ksrc = experimental_kappa_T(comp.counts, T)
    first = snaps[0]
    rho = units.density_g_cm3(float(first.get_masses().sum()), first.get_volume())
    res = ReferenceCheckResult(comp.id, T, len(first), int(len(set(first.arrays[keys.MOL_ID].tolist()))), rho,
                               source, ffname, len(snaps), kappa, ksrc, own_md_steps=int(own_md_steps))
    seen: set[str] = set()
    for name, build, d3 in method_ladder(project, recipe, comp, methods, cutoff):
        for row in _run_method(name, build, d3, snaps, T, kappa, seen, int(own_md_steps), int(recipe.seed)):
            row.chosen = row.name.endswith("(recipe)")
            res.methods.append(row)
    _write_snapshots(project.result_frames(REFERENCE_CHECK), snaps)
    project.write_results(REFERENCE_CHECK, res.to_dict())
    return res


def _write_snapshots(path, frames: list[Atoms]) -> None:
    """The check's snapshots (whole molecules, with ``mol_id``/``mol_species``), written atomically,
    so the validate stage can put a trained model's pressure next to its reference's on the same
    structures (:func:`ilforge.validate.pressure.model_pressure_check`)."""
    write_extxyz_atomic(path, [a.copy() for a in frames])
