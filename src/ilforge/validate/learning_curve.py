"""Learning curve: test errors vs number of training frames, with identical settings.

Models are trained on nested random subsets (the first n of one seeded permutation, so a smaller
set is contained in every larger one) and evaluated on the same test frames. A straight line on
the log-log plot is the usual power law MAE ∝ n^(−β).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge.models.base import get_backend
from ilforge.models.settings import TrainingSettings
from ilforge.models.tasks import TrainTask, run_training_tasks
from ilforge.validate.metrics import error_block
from ilforge.validate.plots import learning_curve_plot


def learning_curve(
    settings: TrainingSettings,
    train: list[Atoms],
    valid: list[Atoms],
    test: list[Atoms],
    sizes: list[int],
    workdir: str | Path,
    isolated_energies: dict[str, float] | None = None,
    name: str = "learning_curve",
    max_workers: int = 1,
) -> dict:
    """Train on ``sizes`` frames each; write ``results/<name>.json`` and ``.png``; return the curve."""
    workdir = Path(workdir)
    sizes = sorted({min(int(n), len(train)) for n in sizes if n > 0})
    order = np.random.default_rng(settings.effective_seed()).permutation(len(train))
    tasks = [TrainTask(settings.model_dump(), [train[i] for i in order[:n]], valid, str(workdir / "models" / name / f"n{n}"),
                       dict(isolated_energies or {})) for n in sizes]
    arts = run_training_tasks(tasks, max_workers=max_workers)
    points = []
    for n, art in zip(sizes, arts):
        block = error_block(test, get_backend(art.backend).predict(art, test, device=settings.device))
        points.append({"n_train": n, "model": str(art.directory), **{k: v for k, v in block.items() if k != "forces_by_element"}})
    curve = {"points": points, "n_test": len(test), "settings": settings.model_dump(mode="json")}
    out = workdir / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(curve, indent=2))
    curve["plot"] = str(learning_curve_plot(curve, out / f"{name}.png"))
    return curve
