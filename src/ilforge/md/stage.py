"""The md stage: ``run_md(project, recipe) -> MDStageResult`` (``ilforge md`` and ``ilforge run``).

For every MD composition (``md.compositions``, default the training compositions, else all) and
temperature (``md.temperatures_K``, default the recipe's) and, for NPT, every pressure
(``md.pressures_bar``), one state point runs as a file task in ``Project.md_run(composition,
state)``, starting from :func:`md_start`. The model is the project's committee
``models/<model_name>`` (default ``training.model_name``), or a model directory, or a named test
calculator (``emt``, ``lj``). The seed of each state point is ``md.seed`` when given, else
``derive_seed(recipe.seed, "md", composition, state)`` (here and nowhere else). The runs are
listed in ``results/md.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ilforge import keys
from ilforge.engine.local import local_executor
from ilforge.errors import IlforgeError
from ilforge.md.calculators import NAMES, NamedCalculator, check_calculator
from ilforge.md.result import MDResult
from ilforge.md.runner import StatePoint, state_points
from ilforge.md.settings import MDSettings
from ilforge.md.state_points import run_state_points, run_tasks, write_state_point_task
from ilforge.project import MD, Project, writes_project
from ilforge.seeds import derive_seed

log = logging.getLogger(__name__)


@dataclass
class MDStageResult:
    """Every state point run: (composition id, :class:`MDResult`)."""

    runs: list[tuple[str, MDResult]] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One row per run, as ``results/md.json`` keeps them."""
        return [{"composition_id": cid, "state": r.state, "status": r.status, "problem": r.problem, "steps_done": r.steps_done,
                 "steps_total": r.steps_total, "atom_steps_per_s": r.atom_steps_per_s, "production": r.production}
                for cid, r in self.runs]

    @property
    def stopped(self) -> list[str]:
        return [f"{cid} {r.state}: {r.problem}" for cid, r in self.runs if not r.completed]

    def summary(self) -> dict:
        return {"runs": len(self.runs), "stopped": self.stopped}


def md_compositions(recipe, refs=None) -> list:
    """The compositions MD runs on: ``refs`` (ids or scan values), else ``md.compositions``, else the
    training compositions, else all."""
    comps = recipe.resolve_compositions()
    refs = refs or recipe.md.compositions
    if refs is None:
        refs = recipe.training_compositions or [c.id for c in comps]
    return [recipe.composition_by_ref(r, comps) for r in refs]


def md_start(project: Project, recipe, composition_id: str, temperature_K: float) -> Path:
    """Starting structure of MLIP MD: the last classical snapshot sampled nearest this temperature
    (equilibrated, like the training data), written once to ``Project.md_start``; else the packed box."""
    from ase.io import read, write

    T_near = min(recipe.temperatures_K, key=lambda t: abs(t - temperature_K))
    sampled = project.sampled(composition_id, T_near)
    if not sampled.is_file():
        return project.box(composition_id, T_near)
    start = project.md_start(composition_id, T_near)
    if not start.is_file():
        start.parent.mkdir(parents=True, exist_ok=True)
        frames = [a for a in read(sampled, ":") if a.info.get(keys.CONFIG_TYPE) == keys.CT_CLASSICAL_MD]
        write(start, frames[-1] if frames else read(sampled, -1))
    return start


#: MDSettings field -> the command-line option that sets it (for messages)
_OPTIONS = {"temperatures_K": "--temperature-K", "pressures_bar": "--pressure-bar", "timestep_fs": "--timestep-fs",
            "equilibration_ps": "--equilibration-ps", "production_ps": "--production-ps", "save_every_steps": "--save-every",
            "ensemble": "--ensemble", "seed": "--seed", "monitors.check_every_steps": "--check-every"}


def md_settings(recipe=None, overrides: dict | None = None) -> MDSettings:
    """The recipe's ``md`` section (defaults without a recipe) with ``overrides`` (MDSettings fields;
    ``monitors`` merged key by key). Invalid values are an :class:`IlforgeError` naming the recipe
    field and the command-line option; pressures given for NVT/NVE are refused (they would be ignored)."""
    from pydantic import ValidationError

    base = recipe.md if recipe is not None else MDSettings()
    data = base.model_dump()
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    for k, v in given.items():
        data[k] = {**data[k], **v} if k == "monitors" else v
    try:
        settings = MDSettings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "md"
            opt = f" ({_OPTIONS[loc]})" if loc in _OPTIONS else ""
            lines.append(f"md.{loc}{opt}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})")
        raise IlforgeError("invalid MD settings:\n  " + "\n  ".join(lines) + "\nfix the recipe's md section or the option") from None
    pressure_given = "pressures_bar" in given or ("pressures_bar" in base.model_fields_set and "ensemble" not in given)
    if settings.ensemble != "npt" and pressure_given:
        raise IlforgeError(f"a pressure (md.pressures_bar / --pressure-bar) means nothing for ensemble {settings.ensemble}: "
                           "it would be ignored; drop it, or use --ensemble npt")
    return settings


def _check_workers(workers: int) -> None:
    if not isinstance(workers, int) or workers < 1:
        raise IlforgeError(f"--workers {workers}: the number of state points run at once must be an integer >= 1")


def read_structure(path):
    """The structure in ``path`` (any ASE format); an empty, truncated or unreadable file is an
    :class:`IlforgeError` naming it."""
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise IlforgeError(f"structure file {path} not found; build one with `ilforge build` or give a structure file")
    try:
        atoms = read(path)
    except Exception as exc:  # noqa: BLE001 - ASE raises many kinds for a bad file
        raise IlforgeError(f"structure file {path} is empty, truncated or not a structure ASE can read "
                           f"({type(exc).__name__}: {exc}); give a complete extxyz/xyz/cif/... file") from None
    if isinstance(atoms, list):  # some readers return a list
        atoms = atoms[-1]
    if len(atoms) == 0:
        raise IlforgeError(f"structure file {path} holds no atoms; give a complete structure")
    if not np.all(np.isfinite(atoms.positions)) or not np.all(np.isfinite(atoms.cell.array)):
        raise IlforgeError(f"structure file {path} has non-finite (NaN/inf) positions or cell; fix or rebuild it")
    if not all(atoms.pbc) or atoms.cell.rank != 3:
        raise IlforgeError(f"structure file {path} has no 3D periodic cell (pbc {atoms.pbc.tolist()}); MD here needs a box "
                           "periodic on all three axes (Lattice=... and pbc=\"T T T\" in extxyz)")
    return atoms


def model_calculator(model: str | None, project: Project | None, recipe, settings: MDSettings) -> dict:
    """The calculator dict of ``model``: ``emt``/``lj``, a model directory, or the name of a model of
    ``project`` (default ``training.model_name``)."""
    from ilforge.models.committee import Committee

    name = model
    if name is None and recipe is not None:
        name = recipe.training.model_name
    if name in NAMES:
        return NamedCalculator(name).to_dict()
    if name and Path(name).is_dir():
        directory = Path(name)
    elif project is not None and name in project.model_names():
        directory = project.model_dir(name)
    else:
        known = ", ".join(project.model_names()) if project is not None else "none (no --workdir)"
        raise IlforgeError(f"model {name!r} not found: give a trained model's name (in this project: {known}), "
                           f"a model directory, or {' / '.join(NAMES)}; train one with `ilforge train`")
    return Committee.load(directory).calculator_factory(settings.device, settings.default_dtype).to_dict()


def _seed(settings: MDSettings, recipe, composition_id: str, point: StatePoint) -> int:
    if settings.seed is not None:
        return int(settings.seed)
    return derive_seed(recipe.seed if recipe is not None else 0, "md", composition_id, point.label)


def _points(settings: MDSettings, recipe) -> list[StatePoint]:
    temps = settings.temperatures_K or (recipe.temperatures_K if recipe is not None else None)
    return state_points(settings, temps)


@writes_project("md")
def run_md(project: Project, recipe, *, model_name: str | None = None, compositions=None, workers: int = 1,
           overrides: dict | None = None, restart: bool = True, on_done=None, progress=None) -> MDStageResult:
    """Run MD on the project's compositions (see the module docstring); writes ``results/md.json``.

    ``overrides``: MDSettings fields (e.g. ``{"production_ps": 10}``); ``workers`` state points at
    once (local processes); ``on_done(composition_id, MDResult)`` and ``progress(n_done, n_total)``
    as each finishes.
    """
    _check_workers(workers)
    settings = md_settings(recipe, overrides)
    calc = model_calculator(model_name, project, recipe, settings)
    tasks, cids, starts = [], [], {}
    for comp in md_compositions(recipe, compositions):
        for p in _points(settings, recipe):
            box = md_start(project, recipe, comp.id, p.temperature_K)
            if not box.is_file():
                raise IlforgeError(f"no starting structure for {comp.id} at {p.temperature_K:g} K ({box}); run `ilforge build` first")
            if box not in starts:
                starts[box] = read_structure(box)
                check_calculator(calc, starts[box], str(box))
            atoms = starts[box]
            tasks.append(write_state_point_task(project.md_run(comp.id, p.label), atoms, calc, settings, p,
                                                _seed(settings, recipe, comp.id, p), restart))
            cids.append(comp.id)
    n_done = []

    def done(i: int, res: MDResult) -> None:
        n_done.append(i)
        if on_done is not None:
            on_done(cids[i], res)
        if progress is not None:
            progress(len(n_done), len(tasks))

    with local_executor(workers) as ex:
        results = run_tasks(tasks, ex, done)
    out = MDStageResult(list(zip(cids, results)))
    project.write_results(MD, out.rows())
    return out


def run_md_on_box(box, out, recipe=None, *, model_name: str | None = None, project: Project | None = None, workers: int = 1,
                  overrides: dict | None = None, restart: bool = True, on_done=None) -> MDStageResult:
    """Run the state points of ``recipe`` (or defaults) from an arbitrary structure file ``box`` into
    ``out/<state>`` (outside any project; ``project`` only to find a model by name)."""
    box = Path(box)
    _check_workers(workers)
    atoms = read_structure(box)
    settings = md_settings(recipe, overrides)
    calc = model_calculator(model_name, project, recipe, settings)
    check_calculator(calc, atoms, str(box))
    points = _points(settings, recipe)
    with local_executor(workers) as ex:
        results = run_state_points(atoms, calc, settings, [Path(out) / p.label for p in points], points, ex,
                                   None if on_done is None else (lambda r: on_done(box.stem, r)), restart,
                                   [_seed(settings, recipe, box.stem, p) for p in points])
    return MDStageResult([(box.stem, r) for r in results])
