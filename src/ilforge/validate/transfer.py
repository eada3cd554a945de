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

import json
import logging
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.errors import IlforgeError
from ilforge.models.artifact import ModelArtifact, frames_hash
from ilforge.models.base import get_backend
from ilforge.models.e0s import is_isolated_atom
from ilforge.models.data import split_by_composition
from ilforge.models.settings import TrainingSettings
from ilforge.models.tasks import TrainTask, run_training_tasks
from ilforge.validate.metrics import error_block

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
    frames: list[Atoms],
    training_sets: list[list[str]],
    settings: TrainingSettings,
    workdir: str | Path,
    verdicts: dict[str, dict] | None = None,
    isolated_energies: dict[str, float] | None = None,
    composition_x: dict[str, float] | None = None,
    seed: int = 0,
    max_workers: int = 1,
    progress=None,
) -> dict:
    """Train one model per training set, evaluate on every composition's test frames, write results.

    ``frames``: labelled frames with ``composition_id``; split per composition into train/valid/test
    with ``settings.valid_fraction`` / ``settings.test_fraction`` and ``seed``. Models go to
    ``workdir/models/transfer/<set>``; results to ``workdir/results/transfer.json`` and the heat maps
    ``transfer_energy_mae.png``, ``transfer_forces_mae.png``. A model already trained by an earlier
    run on the same frames with the same settings is reused. ``verdicts``: set name -> the composition
    planner's verdict (:func:`planner_verdicts`), stored with each set. Returns the results dict.
    """
    workdir = Path(workdir)
    train, valid, test = split_by_composition(frames, settings.valid_fraction, settings.test_fraction, seed)
    comp_ids = sorted({str(a.info.get(keys.COMPOSITION_ID)) for a in frames})
    if composition_x:
        comp_ids.sort(key=lambda c: (composition_x.get(c) is None, composition_x.get(c) or 0.0, c))
    missing = [c for s in training_sets for c in s if c not in comp_ids]
    if missing:
        raise IlforgeError(f"training compositions {sorted(set(missing))} have no labelled frames; label them or change --sets")
    test_by = {c: [a for a in test if a.info.get(keys.COMPOSITION_ID) == c] for c in comp_ids}
    no_test = [c for c, fr in test_by.items() if not fr]
    if no_test:
        raise IlforgeError(f"compositions {no_test} have too few frames for a test split (need ≥ 3 each)")
    tasks = []
    for ids in training_sets:
        tr = [a for a in train if a.info.get(keys.COMPOSITION_ID) in ids]
        va = [a for a in valid if a.info.get(keys.COMPOSITION_ID) in ids]
        tasks.append(TrainTask(settings.model_dump(), tr, va, str(workdir / "models" / "transfer" / set_name(ids)), dict(isolated_energies or {})))
    artifacts: list[ModelArtifact | None] = [_reusable(t, settings) for t in tasks]
    todo = [i for i, a in enumerate(artifacts) if a is None]
    if len(todo) < len(tasks):
        log.info("reusing %d trained model(s) with the same training data and settings", len(tasks) - len(todo))
    for i, art in zip(todo, run_training_tasks([tasks[i] for i in todo], max_workers=max_workers, progress=progress)):
        artifacts[i] = art
    e_mae = np.full((len(training_sets), len(comp_ids)), np.nan)
    f_mae = np.full_like(e_mae, np.nan)
    sets_out = []
    for k, (ids, art) in enumerate(zip(training_sets, artifacts)):
        backend = get_backend(art.backend)
        for j, c in enumerate(comp_ids):
            fr = test_by[c]
            if {s for a in fr for s in a.get_chemical_symbols()} - set(art.elements):
                continue  # an element this model never saw: no prediction
            block = error_block(fr, backend.predict(art, fr, device=settings.device))
            e_mae[k, j] = block["energy_mae_meV_atom"]
            f_mae[k, j] = block["forces_mae_meV_A"]
        verdict = (verdicts or {}).get(set_name(ids), {})
        row = e_mae[k][np.isfinite(e_mae[k])]
        sets_out.append({
            "name": set_name(ids),
            "compositions": ids,
            "x": [composition_x.get(c) for c in ids] if composition_x else None,
            "model": str(art.directory),
            "n_train": art.info["n_train"],
            "e0s": art.info["e0s"],
            "energy_mae_max_over_min": float(row.max() / row.min()) if row.size else None,
            **verdict,
        })
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
    out = workdir / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "transfer.json").write_text(json.dumps(results, indent=2))
    plot_heatmaps(results, out)
    return results


def _reusable(task: TrainTask, settings: TrainingSettings) -> ModelArtifact | None:
    """The model of an earlier run of the same task (same training-data hash and settings), if any."""
    try:
        art = ModelArtifact.load(task.workdir)
    except IlforgeError:
        return None
    train = [a for a in task.train_frames if not is_isolated_atom(a)]
    same = art.info.get("training_data_hash") == frames_hash(train) and art.info.get("settings") == settings.model_dump(mode="json")
    return art if same else None


def _nan_to_none(a: np.ndarray) -> list:
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]


def plot_heatmaps(results: dict, outdir: Path) -> list[Path]:
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
        ("energy_mae_meV_atom", "energy MAE / meV atom$^{-1}$", "transfer_energy_mae.png"),
        ("forces_mae_meV_A", "force MAE / meV Å$^{-1}$", "transfer_forces_mae.png"),
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
        p = outdir / fname
        fig.savefig(p, dpi=150)
        plt.close(fig)
        paths.append(p)
    return paths
