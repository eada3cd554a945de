"""The transferability study of Goodwin et al., J. Phys. Chem. Lett. 2024 (Figure 1).

With labelled frames at many compositions (e.g. salt fraction x = 0 ... 1 of LiPF6 in EMIM-PF6),
train one model per *training set* of compositions with identical settings and evaluate each on
the test frames of every composition: energy MAE (meV/atom) and force MAE (meV/Å) per
model × composition, shown as two heat maps.

The expected physics: forces are local and transfer when all interactions are sampled; energies
of an atom-additive model transfer only along the directions of composition space the training
data spans. With N species and M constraints (electroneutrality), C = N − M linearly independent
training compositions are needed (Li⁺/EMIM⁺/PF6⁻: N = 3, M = 1, C = 2): a single composition
({0.5}) cannot tell apart the per-species energies, so its energy error grows away from x = 0.5,
while {0.4, 0.6} spans the space and stays flat. The composition planner (:mod:`ilforge.plan.planner`)
does that rank test; :func:`planner_verdicts` stores its verdict with every training set.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact, frames_hash
from ilforge.models.data import load_labelled, split_by_composition
from ilforge.models.e0s import is_isolated_atom
from ilforge.models.metrics import error_block
from ilforge.models.registry import apply_overrides, get_backend
from ilforge.models.settings import TrainingSettings
from ilforge.models.train_task import TrainTask, run_training_tasks, task_train_frames, write_training_task
from ilforge.progress import Progress
from ilforge.project import Project, TRANSFER, writes_project

log = logging.getLogger(__name__)

#: the paper's training sets, as scan values
DEFAULT_SETS: list[list[float]] = [[0.5], [0.0, 0.1], [0.0, 0.1, 0.2], [0.0, 1.0], [0.4, 0.6]]


def planner_verdicts(recipe, training_sets: list[list[str]]) -> dict[str, dict]:
    """The composition planner's verdict for each training set (rank test C = N − M; ilforge.plan)."""
    from ilforge.plan.planner import plan_recipe

    out = {}
    for ids in training_sets:
        plan = plan_recipe(recipe, ids)
        out[set_name(ids)] = {
            "rank": plan.training_rank,
            "required": plan.required_compositions,
            "spans": plan.spans_targets,
            "undetermined": plan.undetermined,
            "verdict": plan.messages[1] if len(plan.messages) > 1 else " ".join(plan.messages),
        }
    return out


def resolve_training_sets(recipe, compositions, sets: list[list] | None = None) -> list[list[str]]:
    """Training sets as lists of composition ids (``sets`` of ids or scan values; default: the paper's)."""
    if sets is None:
        if recipe.scan is None:
            raise IlforgeError("the recipe has no `scan:`, so there are no default training sets; give them with --sets")
        sets = DEFAULT_SETS
    return [[recipe.composition_by_ref(r, compositions).id for r in s] for s in sets]


def set_name(ids: list[str]) -> str:
    return "+".join(ids)


def transfer_study(
    project: Project,
    frames: list[Atoms],
    training_sets: list[list[str]],
    settings: TrainingSettings,
    verdicts: dict[str, dict] | None = None,
    isolated_energies: dict[str, float] | None = None,
    composition_x: dict[str, float] | None = None,
    seed: int = 0,
    workers: int = 1,
    progress: Progress | None = None,
) -> dict:
    """Train one model per training set, evaluate on every composition's test frames, write results.

    ``frames``: labelled frames with ``composition_id``; split per composition into train/valid/test
    with ``settings.valid_fraction`` / ``settings.test_fraction`` and ``seed``. Models go to
    ``models/transfer/<set>``; results to ``results/transfer.json`` and the heat maps
    ``transfer_energy_mae.png``, ``transfer_forces_mae.png``. A model already trained by an earlier
    run on the same frames with the same settings is reused. ``verdicts``: set name -> the composition
    planner's verdict (:func:`planner_verdicts`), stored with each set. ``progress``: models and epochs
    done (reused models count as done). Returns the results dict.
    """
    settings = settings.with_stress_weight(all(keys.REF_STRESS in a.info for a in frames))
    train, valid, test = split_by_composition(frames, settings.valid_fraction, settings.test_fraction, seed)
    comp_ids = _composition_order(frames, composition_x)
    test_by = _test_frames_by_composition(test, comp_ids, training_sets)
    tasks = []
    for ids in training_sets:
        tr = [a for a in train if a.info.get(keys.COMPOSITION_ID) in ids]
        va = [a for a in valid if a.info.get(keys.COMPOSITION_ID) in ids]
        tasks.append(TrainTask(settings, tr, va, str(project.model_dir("transfer", set_name(ids))), dict(isolated_energies or {})))
    artifacts = _train_or_reuse(tasks, settings, workers, progress)
    e_mae, f_mae = _error_matrices(artifacts, comp_ids, test_by, settings.device)
    sets_out = [_set_row(ids, art, e_mae[k], verdicts, composition_x) for k, (ids, art) in enumerate(zip(training_sets, artifacts))]
    results = {
        "compositions": comp_ids,
        "x": [composition_x.get(c) for c in comp_ids] if composition_x else None,
        "n_test_frames": {c: len(test_by[c]) for c in comp_ids},
        "training_sets": sets_out,
        "energy_mae_meV_atom": _nan_to_none(e_mae),
        "forces_mae_meV_A": _nan_to_none(f_mae),
        "settings": settings.model_dump(mode="json"),
        "level_of_theory": artifacts[0].level_of_theory if artifacts else None,
        "split_seed": seed,
    }
    project.write_results(TRANSFER, results)
    plot_heatmaps(results, project)
    return results


def _composition_order(frames: list[Atoms], composition_x: dict[str, float] | None) -> list[str]:
    comp_ids = sorted({str(a.info.get(keys.COMPOSITION_ID)) for a in frames})
    if composition_x:
        comp_ids.sort(key=lambda c: (composition_x.get(c) is None, composition_x.get(c) or 0.0, c))
    return comp_ids


def _test_frames_by_composition(test: list[Atoms], comp_ids: list[str], training_sets: list[list[str]]) -> dict[str, list[Atoms]]:
    missing = [c for s in training_sets for c in s if c not in comp_ids]
    if missing:
        raise IlforgeError(f"training compositions {sorted(set(missing))} have no labelled frames; label them or change --sets")
    test_by = {c: [a for a in test if a.info.get(keys.COMPOSITION_ID) == c] for c in comp_ids}
    no_test = [c for c, fr in test_by.items() if not fr]
    if no_test:
        raise IlforgeError(f"compositions {no_test} have too few frames for a test split (need ≥ 3 each)")
    return test_by


def _train_or_reuse(tasks: list[TrainTask], settings: TrainingSettings, workers: int,
                    progress: Progress | None) -> list[ModelArtifact]:
    artifacts: list[ModelArtifact | None] = [_reusable(t, settings) for t in tasks]
    todo = [i for i, a in enumerate(artifacts) if a is None]
    if len(todo) < len(tasks):
        log.info("reusing %d trained model(s) with the same training data and settings", len(tasks) - len(todo))
    trained = run_training_tasks([tasks[i] for i in todo], workers=workers, progress=progress,
                                 reused=len(tasks) - len(todo))
    for i, art in zip(todo, trained):
        artifacts[i] = art
    return artifacts


def _error_matrices(artifacts, comp_ids, test_by, device: str) -> tuple[np.ndarray, np.ndarray]:
    """Energy MAE (meV/atom) and force MAE (meV/Å), training set × test composition (NaN: an element
    the model never saw)."""
    e_mae = np.full((len(artifacts), len(comp_ids)), np.nan)
    f_mae = np.full_like(e_mae, np.nan)
    for k, art in enumerate(artifacts):
        backend = get_backend(art.backend)
        for j, c in enumerate(comp_ids):
            fr = test_by[c]
            if {s for a in fr for s in a.get_chemical_symbols()} - set(art.elements):
                continue  # an element this model never saw: no prediction
            block = error_block(fr, backend.predict(art, fr, device=device))
            e_mae[k, j] = block["energy_mae_meV_atom"]
            f_mae[k, j] = block["forces_mae_meV_A"]
    return e_mae, f_mae


def _set_row(ids, art: ModelArtifact, e_row: np.ndarray, verdicts, composition_x) -> dict:
    row = e_row[np.isfinite(e_row)]
    return {
        "name": set_name(ids),
        "compositions": ids,
        "x": [composition_x.get(c) for c in ids] if composition_x else None,
        "model": str(art.directory),
        "n_train": art.info["n_train"],
        "e0s": art.info["e0s"],
        "energy_mae_max_over_min": float(row.max() / row.min()) if row.size else None,
        **(verdicts or {}).get(set_name(ids), {}),
    }


def _reusable(task: TrainTask, settings: TrainingSettings) -> ModelArtifact | None:
    """The model of an earlier run of the same task (same training-data hash and settings), if any.
    The hash is taken of the frames as the training task reads them back from its files."""
    try:
        art = ModelArtifact.load(task.model_dir)
    except IlforgeError:
        return None
    if art.info.get("settings") != settings.model_dump(mode="json"):
        return None
    write_training_task(task)
    train = [a for a in task_train_frames(task) if not is_isolated_atom(a)]
    shutil.rmtree(task.task_dir, ignore_errors=True)
    return art if art.info.get("training_data_hash") == frames_hash(train) else None


@dataclass
class TransferResult:
    """The transferability study's results document (``results/transfer.json``)."""

    results: dict = field(default_factory=dict)

    def summary(self) -> dict:
        r = self.results
        return {"compositions": r["compositions"], "training_sets": [s["name"] for s in r["training_sets"]],
                "energy_mae_meV_atom": r["energy_mae_meV_atom"], "forces_mae_meV_A": r["forces_mae_meV_A"]}


@writes_project("transfer")
def run_transfer(
    project: Project,
    recipe,
    *,
    sets: list[list] | None = None,
    frames_file=None,
    level_of_theory: str | None = None,
    overrides: dict | None = None,
    seed: int = 0,
    workers: int = 1,
) -> TransferResult:
    """The transferability study of ``recipe`` on the project's labelled frames (or ``frames_file``).

    ``sets``: training sets as lists of composition ids or scan values (default: the paper's);
    ``overrides``: training settings over the recipe's ``training:``; ``seed``: of the train/valid/test
    split (0 by default, as the study in docs/validation.md; the training seed is the settings').
    Progress: models done / total, epochs, the current model's epoch and validation errors
    (``Project.progress_file("transfer")``, a terminal line).
    """
    comps = recipe.resolve_compositions()
    training_sets = resolve_training_sets(recipe, comps, sets)
    settings = apply_overrides(recipe.training, overrides)
    if settings.valid_fraction + settings.test_fraction >= 1.0:
        raise IlforgeError(f"transfer: valid_fraction ({settings.valid_fraction:g}) + test_fraction ({settings.test_fraction:g}) "
                           f"leaves no frames to train on; make their sum < 1")
    data = load_labelled(project, frames_file, level_of_theory)
    with Progress(0, "transfer", "epoch", status_path=project.progress_file("transfer")) as progress:
        res = transfer_study(
            project, data.frames, training_sets, settings,
            verdicts=planner_verdicts(recipe, training_sets),
            isolated_energies=data.isolated_energies,
            composition_x={c.id: c.x for c in comps if c.x is not None} or None,
            seed=seed, workers=workers, progress=progress,
        )
    return TransferResult(res)


def _nan_to_none(a: np.ndarray) -> list:
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]


def plot_heatmaps(results: dict, project: Project) -> list[Path]:
    """Two heat maps (energy and force MAE; rows: training sets, columns: test compositions).

    As Figure 1 of Goodwin et al. (JPCL 2024): logarithmic colour scale, the value in every cell and
    the training compositions of each row outlined.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    cols = results["x"] if results.get("x") and all(v is not None for v in results["x"]) else results["compositions"]
    col_labels = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in cols]
    row_labels = ["{" + ", ".join(f"{v:.1f}" for v in s["x"]) + "}" if s.get("x") and None not in s["x"] else s["name"]
                  for s in results["training_sets"]]
    paths = []
    for key, title, fname in (
        ("energy_mae_meV_atom", "energy MAE / meV atom$^{-1}$", "transfer_energy_mae"),
        ("forces_mae_meV_A", "force MAE / meV Å$^{-1}$", "transfer_forces_mae"),
    ):
        m = np.array([[np.nan if v is None else v for v in row] for row in results[key]], dtype=float)
        fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(col_labels), 1.2 + 0.5 * len(row_labels)))
        finite = m[np.isfinite(m)]
        norm = LogNorm(vmin=max(finite.min(), 1e-3), vmax=finite.max()) if finite.size else None
        im = ax.imshow(np.ma.masked_invalid(m), cmap="viridis", norm=norm, aspect="auto")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if np.isfinite(m[i, j]):
                    bright = norm is not None and norm(m[i, j]) > 0.6
                    ax.text(j, i, f"{m[i, j]:.0f}" if m[i, j] >= 100 else f"{m[i, j]:.3g}", ha="center", va="center", fontsize=7, color="k" if bright else "w")
            for c in results["training_sets"][i]["compositions"]:
                j = results["compositions"].index(c)
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.8))
        ax.set_xticks(range(len(col_labels)), col_labels)
        ax.set_yticks(range(len(row_labels)), row_labels)
        ax.set_xlabel("test composition" + (" (salt fraction x)" if cols is results.get("x") else ""))
        ax.set_ylabel("training compositions")
        fig.colorbar(im, ax=ax, label=title)
        ax.set_title(title)
        fig.tight_layout()
        p = project.figure(fname)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=150)
        plt.close(fig)
        paths.append(p)
    return paths
