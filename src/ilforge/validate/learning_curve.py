"""Learning curve: test errors vs number of training frames, with identical settings.

Models are trained on nested random subsets (the first n of one seeded permutation, so a smaller
set is contained in every larger one) and evaluated on the same test frames. A straight line on
the log-log plot is the usual power law MAE ∝ n^(−β).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.models.metrics import error_block
from ilforge.models.registry import get_backend
from ilforge.models.settings import TrainingSettings
from ilforge.models.train_task import TrainTask, run_training_tasks
from ilforge.project import Project
from ilforge.validate.plots import learning_curve_plot


def learning_curve(
    project: Project,
    settings: TrainingSettings,
    train: list[Atoms],
    valid: list[Atoms],
    test: list[Atoms],
    sizes: list[int],
    isolated_energies: dict[str, float] | None = None,
    name: str = "learning_curve",
    workers: int = 1,
) -> dict:
    """Train on ``sizes`` frames each (models ``models/<name>/n<size>``); write ``results/<name>.json``
    and ``.png``; return the curve."""
    settings = settings.with_stress_weight(all(keys.REF_STRESS in a.info for a in train))
    sizes = sorted({min(int(n), len(train)) for n in sizes if n > 0})
    order = np.random.default_rng(settings.effective_seed()).permutation(len(train))
    tasks = [TrainTask(settings, [train[i] for i in order[:n]], valid, str(project.model_dir(name, f"n{n}")),
                       dict(isolated_energies or {})) for n in sizes]
    arts = run_training_tasks(tasks, workers=workers)
    points = []
    for n, art in zip(sizes, arts):
        block = error_block(test, get_backend(art.backend).predict(art, test, device=settings.device))
        points.append({"n_train": n, "model": str(art.directory), **{k: v for k, v in block.items() if k != "forces_by_element"}})
    curve = {"points": points, "n_test": len(test), "settings": settings.model_dump(mode="json")}
    project.write_results(name, curve)
    curve["plot"] = str(learning_curve_plot(curve, project.figure(name)))
    return curve


def model_learning_curve(project: Project, artifact, test: list[Atoms], sizes: list[int], workers: int = 1) -> dict:
    """The learning curve of a trained model: its own settings, training and validation frames and
    isolated-atom E0s (when it used them), evaluated on ``test``; named ``learning_curve_<model>``."""
    from ilforge.models.registry import settings_from_dict

    settings = settings_from_dict(artifact.info["settings"])
    train, valid = get_backend(artifact.backend).training_frames(artifact)
    e0s = artifact.info.get("e0s", {})
    iso = dict(e0s.get("values_eV", {})) if e0s.get("method") == "isolated" else None
    return learning_curve(project, settings, train, valid, test, sizes, isolated_energies=iso,
                          name=f"learning_curve_{artifact.directory.name}", workers=workers)
