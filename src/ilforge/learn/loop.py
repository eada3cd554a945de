"""The active-learning loop: generation k = train a committee → exploration MD → select → label.

Generation k (``Project.generation_dir(name, k)``):

1. **train** a committee of ``learning.committee_size`` members (:func:`ilforge.models.training.train_model`)
   on the labelled frames of the recipe's level: the initial set (``learn.json``) and every frame
   earlier generations selected (config type ``active_learning``, ``info['generation'] <= k``); the
   split is hash-stable (:func:`ilforge.models.data.split_by_composition`), so the test frames of one
   generation stay test frames in the next. The composition planner checks the span of the training
   compositions (recorded as ``spans_targets``).
2. **explore**: MD at every state point (composition × temperature × pressure) for ``learning.md_ps``,
   driven by member 0 (DP-GEN style: one model runs, the committee judges the saved frames), with the
   recipe's MD monitors; each run resumes from its checkpoint when interrupted.
3. **select** (:mod:`ilforge.learn.selection`): the committee's spread on every saved frame; the
   loop has converged when every run completed and the fraction of frames at or above the trust
   window's lower edge is below ``learning.converged_fraction``; else up to the budget, failure
   frames then diverse candidates are added to the frame store (``config_type`` active_learning,
   ``generation`` k + 1: the generation whose training set they join) and their labels requested, in
   one transaction.
4. **label** the requested frames through the labelling runner (:func:`ilforge.reference.runner.run_labelling`).

The last generation (``learning.generations - 1``, or the first with no label budget left) trains
and explores but labels nothing: it measures the final committee. Each step ends by writing
``generation.json`` atomically (phase ``trained``, ``explored``, then ``labelled``, or a final
``converged``/``budget``/``generations``); a rerun after SIGKILL continues from the last
phase. The frame store never labels a frame twice (requests are idempotent, finished labels stay), and
the budget of generation k counts only the labels of earlier generations, so a recomputed selection
is the same one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ilforge import keys
from ilforge.engine.compute import ComputeSettings, make_executor
from ilforge.engine.local import local_executor
from ilforge.jsonio import write_json_atomic
from ilforge.learn.selection import ACCURATE, CANDIDATE, UNPHYSICAL, Pool, classify, select_frames
from ilforge.learn.settings import LearningSettings
from ilforge.md.result import EQUILIBRATION, PRODUCTION
from ilforge.md.runner import StatePoint
from ilforge.md.settings import MDSettings
from ilforge.md.state_points import run_tasks, write_state_point_task
from ilforge.md.trajectory import read_h5md
from ilforge.models.committee import Committee, ModelCalculatorFactory
from ilforge.models.data import LabelledData
from ilforge.models.settings import TrainingSettings
from ilforge.models.training import TEST_FILE, train_model
from ilforge.project import Project
from ilforge.reference.label_task import LabelerSpec
from ilforge.reference.runner import run_labelling
from ilforge.seeds import derive_seed
from ilforge.store.frames import FrameStore
from ilforge.store.hashing import frame_hash

log = logging.getLogger(__name__)

TRAINED, EXPLORED, LABELLED = "trained", "explored", "labelled"
#: final phases of a generation: the loop stops after it
CONVERGED, BUDGET, GENERATIONS = "converged", "budget", "generations"


@dataclass(frozen=True)
class ExplorationPoint:
    """One state point of the exploration: composition, temperature (K), pressure (bar, NPT) and the
    starting structure (a path)."""

    composition_id: str
    temperature_K: float
    pressure_bar: float | None
    start: str

    @property
    def state(self) -> StatePoint:
        return StatePoint(float(self.temperature_K), self.pressure_bar)

    @property
    def run(self) -> str:
        return f"{self.composition_id}/{self.state.label}"


@dataclass
class LearnContext:
    """Everything the loop needs, resolved by :func:`ilforge.learn.stage.run_learn` from the recipe."""

    project: Project
    settings: LearningSettings
    training: TrainingSettings
    md: MDSettings
    points: list[ExplorationPoint]
    labeler: LabelerSpec
    level_of_theory: str
    model_name: str
    seed: int
    max_attempts: int = 3
    workers: int = 1
    compute: ComputeSettings | None = None
    span_check: object = None  # callable(list of composition ids) -> bool | None

    def store(self) -> FrameStore:
        return FrameStore.open(self.project.frames_db)


# ----------------------------------------------------------------------------- training data
def _evenly(items: list, n: int) -> list:
    if n >= len(items):
        return list(items)
    return [items[i] for i in np.unique(np.round(np.linspace(0, len(items) - 1, n)).astype(int))]


def pick_initial(frames: list, n: int | None) -> list[str]:
    """Hashes of ``n`` frames (None: all), spread evenly over compositions (round robin of
    evenly spaced frames per composition, in the store's order)."""
    if n is None or n >= len(frames):
        return [a.info[keys.FRAME_HASH] for a in frames]
    by_comp: dict[str, list] = {}
    for a in frames:
        by_comp.setdefault(str(a.info.get(keys.COMPOSITION_ID)), []).append(a)
    share = {c: n // len(by_comp) + (i < n % len(by_comp)) for i, c in enumerate(sorted(by_comp))}
    out = []
    for c, fr in sorted(by_comp.items()):
        out += [a.info[keys.FRAME_HASH] for a in _evenly(fr, share[c])]
    return out


def is_learned(atoms) -> bool:
    return atoms.info.get(keys.CONFIG_TYPE) == keys.CT_ACTIVE_LEARNING


def training_frames(store: FrameStore, lot: str, initial: set[str], generation: int) -> list:
    """Labelled frames generation ``generation`` trains on: the initial set and the frames selected by
    earlier generations; each carries ``info['generation']``: the generation whose training set it
    joined first (0 for the initial set)."""
    out = []
    for a in store.labelled_frames(level_of_theory=lot):
        h = a.info[keys.FRAME_HASH]
        if is_learned(a) and int(a.info.get(keys.GENERATION, 0)) <= generation:
            out.append(a)
        elif not is_learned(a) and h in initial:
            a.info[keys.GENERATION] = 0
            out.append(a)
    return out


def labels_spent(store: FrameStore, lot: str, before: int | None = None) -> int:
    """Frames the loop asked labels for at ``lot`` (selected by generations < ``before``, i.e. joining
    training sets up to generation ``before``; None: all)."""
    requested = {r.frame_hash for r in store.label_records(lot)}
    return sum(1 for a in store.frames(config_type=keys.CT_ACTIVE_LEARNING)
               if a.info[keys.FRAME_HASH] in requested and (before is None or int(a.info.get(keys.GENERATION, 0)) <= before))


# ----------------------------------------------------------------------------- 1. train
def _rmse(x) -> float | None:
    x = np.asarray(x, dtype=float)
    return float(np.sqrt(np.mean(x**2))) if x.size else None


def test_errors(committee: Committee, frames: list, device: str = "cpu") -> dict:
    """Committee-mean RMSE on ``frames``: energy per atom (meV/atom) and force components (meV/Å)."""
    if not frames:
        return {"n_test": 0, "energy_rmse_meV_atom": None, "forces_rmse_meV_A": None}
    pred = committee.predict(frames, device=device)
    de = [(p["energy"] - a.info[keys.REF_ENERGY]) / len(a) for p, a in zip(pred, frames)]
    df = np.concatenate([(p["forces"] - a.arrays[keys.REF_FORCES]).ravel() for p, a in zip(pred, frames)])
    return {"n_test": len(frames), "energy_rmse_meV_atom": 1000 * _rmse(de), "forces_rmse_meV_A": 1000 * _rmse(df)}


def train_generation(ctx: LearnContext, k: int, frames: list, isolated: dict) -> dict:
    """Train generation ``k``'s committee; returns what ``generation.json`` records of it."""
    from ase.io import read

    gen_dir = ctx.project.generation_dir(ctx.model_name, k)
    ls = ctx.settings
    settings = ctx.training.model_copy(update={"committee_size": ls.committee_size,
                                               "max_epochs": ls.max_epochs or ctx.training.max_epochs})
    log.info("learn: generation %d trains a committee of %d on %d frames", k, ls.committee_size, len(frames))
    train_model(settings, LabelledData(frames, ctx.level_of_theory, dict(isolated)), gen_dir, workers=ctx.workers)
    committee = Committee.load(gen_dir)
    test = read(gen_dir / TEST_FILE, ":") if (gen_dir / TEST_FILE).is_file() else []
    cids = sorted({str(a.info.get(keys.COMPOSITION_ID)) for a in frames})
    span = ctx.span_check(cids) if callable(ctx.span_check) else None
    if span is False:
        log.warning("learn: generation %d's training compositions %s do not span the targets (ilforge plan)", k, cids)
    by_comp = {c: sum(1 for a in frames if str(a.info.get(keys.COMPOSITION_ID)) == c) for c in cids}
    by_gen: dict[str, int] = {}
    for a in frames:
        g = str(int(a.info.get(keys.GENERATION, 0)))
        by_gen[g] = by_gen.get(g, 0) + 1
    return {"generation": k, "phase": TRAINED, "n_train": len(frames), "train_by_composition": by_comp,
            "train_by_generation": by_gen, "spans_targets": span, "test": test_errors(committee, test, settings.device)}


# ----------------------------------------------------------------------------- 2. explore
def exploration_settings(md: MDSettings, ls: LearningSettings) -> MDSettings:
    """The recipe's MD settings for exploration: ``learning.md_ps`` of production at the state point (no
    equilibration, no schedule), frames saved and monitors checked every ``learning.save_every_steps``."""
    data = md.model_dump()
    data.update(production_ps=ls.md_ps, equilibration_ps=0.0, schedule=[], save_every_steps=ls.save_every_steps,
                temperatures_K=None, seed=None)
    data["monitors"] = {**data["monitors"], "check_every_steps": ls.save_every_steps, "force_spread_eV_A": None,
                        "force_spread_stop_eV_A": None}
    return MDSettings.model_validate(data)


def explore(ctx: LearnContext, k: int, committee: Committee) -> list:
    """Exploration MD of generation ``k`` at every state point (resumable); their :class:`MDResult`."""
    from ase.io import read

    settings = exploration_settings(ctx.md, ctx.settings)
    member = committee.members[0]
    calc = ModelCalculatorFactory(committee.backend, (str(member.directory),), settings.device,
                                  settings.default_dtype).to_dict()
    tasks = []
    for p in ctx.points:
        run_dir = ctx.project.exploration_run(ctx.model_name, k, p.composition_id, p.state.label)
        seed = derive_seed(ctx.seed, "learn", k, p.composition_id, p.state.label)
        tasks.append(write_state_point_task(run_dir, read(p.start), calc, settings, p.state, seed, True))
    log.info("learn: generation %d explores %d state points for %g ps each", k, len(tasks), ctx.settings.md_ps)
    with local_executor(ctx.workers) as ex:
        return run_tasks(tasks, ex)


def run_frames(run_dir: Path, point: ExplorationPoint) -> list:
    """The saved frames of one exploration run (equilibration then production, each MD step once), with info
    ``composition_id``, ``temperature_K``, ``md_step`` and ``source``."""
    frames, seen = [], set()
    for name in (EQUILIBRATION, PRODUCTION):
        path = run_dir / name
        if not path.is_file():
            continue
        tr = read_h5md(path)
        for i in range(tr.n_frames):
            if int(tr.step[i]) in seen:  # the frame at a segment boundary is in both files
                continue
            seen.add(int(tr.step[i]))
            a = tr.atoms(i)
            a.info.update({keys.COMPOSITION_ID: point.composition_id, keys.TEMPERATURE_K: point.temperature_K,
                           "md_step": int(tr.step[i]), keys.SOURCE: f"learn:{point.run}"})
            frames.append(a)
    return frames


def broken_molecules(frames: list, break_factor: float) -> list[bool]:
    """Per frame, whether a molecule's bond graph differs from its species topology: a bond longer than
    ``break_factor`` x the covalent-radius sum, or atoms of two molecules closer than that
    (:class:`ilforge.md.monitors.BondGraphMonitor`; the classical labeler refuses such frames at 1.3)."""
    from ilforge.md.monitors import BondGraphMonitor

    if not frames or keys.MOL_ID not in frames[0].arrays:
        return [False] * len(frames)
    monitor = BondGraphMonitor(frames[0], break_factor=break_factor, form_factor=break_factor)
    return [monitor.check(0, a) is not None for a in frames]


#: quantiles of the spread distribution that generation.json records (10th, 50th, 90th percentile)
SPREAD_QUANTILES = (0.1, 0.5, 0.9)


def spread_quantiles(spreads) -> dict | None:
    """The distribution of ε over frames (eV/Å): ``{"p10", "p50", "p90", "max"}`` (None without frames),
    to tune the trust window to the spreads a committee actually shows."""
    s = np.asarray(spreads, dtype=float)
    s = s[np.isfinite(s)]
    if not s.size:
        return None
    q = np.quantile(s, SPREAD_QUANTILES)
    return {**{f"p{round(100 * p)}": float(v) for p, v in zip(SPREAD_QUANTILES, q)}, "max": float(s.max())}


def build_pool(ctx: LearnContext, k: int, results: list, committee: Committee) -> tuple[Pool, list[dict]]:
    """Every saved exploration frame with its committee spread ε (eV/Å); one stability row per run."""
    frames, runs, steps, spreads, means, stopped, rows, broken = [], [], [], [], [], {}, [], []
    for p, res in zip(ctx.points, results):
        fr = run_frames(Path(res.outdir), p)
        stats = committee.predict(fr, device=ctx.md.device) if fr else []
        eps = [float(s[keys.MAX_FORCE_STD]) for s in stats]
        bad = broken_molecules(fr, ctx.settings.bond_break_factor)
        broken += bad
        means += [float(np.linalg.norm(s[keys.FORCES_STD], axis=1).mean()) for s in stats]
        if not res.completed:
            stopped[p.run] = int(res.steps_done)
        kinds = np.where(bad, UNPHYSICAL, classify(eps, ctx.settings.trust_low_eV_A, ctx.settings.trust_high_eV_A))
        rows.append({"run": p.run, "composition_id": p.composition_id, "temperature_K": p.temperature_K,
                     "pressure_bar": p.pressure_bar, "status": res.status, "problem": res.problem,
                     "steps_done": res.steps_done, "steps_total": res.steps_total, "n_frames": len(fr),
                     **{f"n_{c}": int(np.sum(kinds == c)) for c in (ACCURATE, CANDIDATE, UNPHYSICAL)},
                     "n_broken": int(np.sum(bad)),
                     "spread_mean_eV_A": float(np.mean(eps)) if eps else None,
                     "spread_max_eV_A": float(np.max(eps)) if eps else None,
                     "spread_quantiles_eV_A": spread_quantiles(eps)})
        frames += fr
        runs += [p.run] * len(fr)
        steps += [a.info["md_step"] for a in fr]
        spreads += eps
    pool = Pool(frames, np.array(spreads, dtype=float), runs, np.array(steps, dtype=int), stopped,
                np.array(means, dtype=float), np.array(broken, dtype=bool))
    return pool, rows


# ----------------------------------------------------------------------------- 3. select
def convergence(rows: list[dict]) -> tuple[bool, float]:
    """(every run completed, fraction of saved frames at or above the window's lower edge)."""
    n = sum(r["n_frames"] for r in rows)
    off = sum(r[f"n_{CANDIDATE}"] + r[f"n_{UNPHYSICAL}"] for r in rows)
    return all(r["status"] == "completed" for r in rows), (off / n if n else 1.0)


def request_selection(store: FrameStore, lot: str, pool: Pool, picks: list[tuple[int, str]], k: int) -> list[dict]:
    """Add the picked frames to the store (config type ``active_learning``, generation ``k + 1``) and request
    their labels, in one transaction; one record per frame."""
    out = []
    with store.transaction():
        for i, reason in picks:
            a = pool.frames[i].copy()
            a.info.update({keys.CONFIG_TYPE: keys.CT_ACTIVE_LEARNING, keys.GENERATION: int(k) + 1,
                           "selected_because": reason, "committee_force_spread_eV_A": float(pool.spreads[i])})
            h = store.add(a)
            if any(o["hash"] == h for o in out):
                continue
            store.request([h], lot)
            out.append({"hash": h, "run": pool.runs[i], "md_step": int(pool.steps[i]),
                        "spread_eV_A": float(pool.spreads[i]), "reason": reason})
    return out


# ----------------------------------------------------------------------------- one generation
def _write(ctx: LearnContext, k: int, state: dict) -> dict:
    write_json_atomic(ctx.project.generation_state(ctx.model_name, k), state, indent=1)
    return state


def read_generation(project: Project, name: str, k: int) -> dict | None:
    """Generation ``k``'s ``generation.json`` (None before it started)."""
    import json

    path = project.generation_state(name, k)
    return json.loads(path.read_text()) if path.is_file() else None


def explore_and_select(ctx: LearnContext, k: int, state: dict, store: FrameStore) -> dict:
    """Steps 2-3 for generation ``k``: explore, judge, and (unless converged or out of budget) request
    the selected frames' labels; returns the new state (phase ``explored``, ``converged`` or ``budget``)."""
    committee = Committee.load(ctx.project.generation_dir(ctx.model_name, k))
    results = explore(ctx, k, committee)
    pool, rows = build_pool(ctx, k, results, committee)
    known = np.array([frame_hash(a) in store for a in pool.frames], dtype=bool)  # e.g. the start: a sampled frame
    pool.broken = pool.broken | known if len(known) else pool.broken
    stable, off = convergence(rows)
    ls = ctx.settings
    budget = max(0, min(ls.frames_per_generation, ls.max_labels - labels_spent(store, ctx.level_of_theory, before=k)))
    state.update(runs=rows, stable=stable, off_window_fraction=off, budget=budget, n_pool=len(pool.frames),
                 spread_mean_eV_A=float(np.mean(pool.spreads)) if len(pool.spreads) else None,
                 spread_quantiles_eV_A=spread_quantiles(pool.spreads),
                 spread_atom_mean_eV_A=float(np.mean(pool.mean_spreads)) if len(pool.spreads) else None)
    if stable and off < ls.converged_fraction:
        return _write(ctx, k, {**state, "phase": CONVERGED, "selected": []})
    if budget == 0 or k == ls.generations - 1:  # the last generation only measures
        return _write(ctx, k, {**state, "phase": BUDGET if budget == 0 else GENERATIONS, "selected": []})
    picks = select_frames(pool, budget, ls.trust_low_eV_A, ls.trust_high_eV_A, cut_back_steps=ls.cut_back_steps,
                          per_failure=ls.failure_frames, cutoff_A=ls.descriptor_cutoff_A)
    selected = request_selection(store, ctx.level_of_theory, pool, picks, k)
    log.info("learn: generation %d: %d runs stopped, %.0f %% of %d frames off the window's accurate side, %d selected",
             k, sum(not r["status"] == "completed" for r in rows), 100 * off, len(pool.frames), len(selected))
    return _write(ctx, k, {**state, "phase": EXPLORED, "selected": selected})


def label_selected(ctx: LearnContext, k: int, state: dict, store: FrameStore) -> dict:
    """Step 4: label generation ``k``'s requested frames (those not done yet); phase ``labelled``."""
    wanted = {s["hash"] for s in state["selected"]}
    todo = [r for r in store.todo(ctx.level_of_theory, ctx.max_attempts) if r.frame_hash in wanted]
    with ctx.project.lock("label", "ilforge label"), make_executor(ctx.compute) as executor:
        run = run_labelling(store, ctx.labeler, ctx.level_of_theory, executor, ctx.project.tasks_dir("label"),
                            ctx.max_attempts, records=todo)
    done = {r.frame_hash for r in store.label_records(ctx.level_of_theory) if r.status == "done"}
    state.update(phase=LABELLED, labelled=len(wanted & done), label_failed=len(wanted - done), label_wall_s=run.wall_s)
    return _write(ctx, k, state)


def _may_continue(ctx: LearnContext, k: int, state: dict, store: FrameStore) -> bool:
    """A generation that ended the loop for want of generations or labels, which the present settings allow
    to go on (its exploration is complete, so redoing the selection costs only the committee's predictions)."""
    ls = ctx.settings
    more = ls.max_labels - labels_spent(store, ctx.level_of_theory, before=k) > 0
    return (state["phase"] == GENERATIONS and k < ls.generations - 1 and more) or (state["phase"] == BUDGET and more)


def run_generation(ctx: LearnContext, k: int, initial: set[str], store: FrameStore) -> dict:
    """Generation ``k`` from wherever an earlier (killed) run left it; returns its final state."""
    state = read_generation(ctx.project, ctx.model_name, k)
    if state is not None and _may_continue(ctx, k, state, store):
        state["phase"] = TRAINED  # a final phase the settings now allow past (more generations or labels)
    if state is None:
        frames = training_frames(store, ctx.level_of_theory, initial, k)
        state = _write(ctx, k, train_generation(ctx, k, frames, store.isolated_energies(ctx.level_of_theory)))
    if state["phase"] == TRAINED:
        state = explore_and_select(ctx, k, state, store)
    if state["phase"] == EXPLORED:
        state = label_selected(ctx, k, state, store)
    return state


# ----------------------------------------------------------------------------- the loop
@dataclass
class LearnRecord:
    """What the loop did: its status (``converged``; ``budget``: labels spent; ``generations``: all run;
    the last generation of every loop trains and explores but labels nothing), the initial set and each
    generation's state."""

    model_name: str
    level_of_theory: str
    status: str
    n_initial: int
    generations: list[dict] = field(default_factory=list)
    labels: int = 0

    def document(self) -> dict:
        return {"model": self.model_name, "level_of_theory": self.level_of_theory, "status": self.status,
                "n_initial": self.n_initial, "labels": self.labels, "generations": self.generations}


def initial_set(ctx: LearnContext, store: FrameStore) -> list[str]:
    """The initial frames (chosen once, kept in ``learn.json``)."""
    import json

    path = ctx.project.learn_state(ctx.model_name)
    if path.is_file():
        return json.loads(path.read_text())["initial"]
    frames = [a for a in store.labelled_frames(level_of_theory=ctx.level_of_theory) if not is_learned(a)]
    initial = pick_initial(frames, ctx.settings.initial_frames)
    write_json_atomic(path, {"initial": initial, "level_of_theory": ctx.level_of_theory}, indent=1)
    return initial


def run_loop(ctx: LearnContext, on_generation=None) -> LearnRecord:
    """Generations 0, 1, ... until converged, out of labels or out of generations (module docstring).
    ``on_generation(record, state)`` after each generation."""
    store = ctx.store()
    initial = initial_set(ctx, store)
    record = LearnRecord(ctx.model_name, ctx.level_of_theory, "generations", len(initial))
    for k in range(ctx.settings.generations):
        state = run_generation(ctx, k, set(initial), store)
        record.generations.append(state)
        if on_generation is not None:
            on_generation(record, state)
        if state["phase"] in (CONVERGED, BUDGET, GENERATIONS):
            record.status = state["phase"]
            break
    record.labels = labels_spent(store, ctx.level_of_theory)
    return record
