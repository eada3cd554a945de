"""Errors of a trained model or committee on labelled frames, written to the project's results.

Checks first that the frames can be judged by the model: same level of theory as its training
labels, and no element the model never saw. For a committee, every member is evaluated on its own
(``validate_<name>_member_<k>``) and the committee mean with its spread
(``validate_<name>_committee``); a single model gives ``validate_<name>``. Parity plots go to
``results/<tag>_parity_{energy,forces,stress}.png``.
"""

from __future__ import annotations

import logging

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.models.base import TrainingDataError, check_elements_covered, check_labelled, level_of_theory
from ilforge.models.committee import Committee, per_frame_statistics
from ilforge.models.metrics import compute_metrics
from ilforge.project import Project, validate_name
from ilforge.units import EV_TO_MEV
from ilforge.validate.plots import parity_plots

log = logging.getLogger(__name__)


def check_frames_for_model(model, frames: list[Atoms], what: str = "test frames") -> None:
    """Raise unless ``model`` (an artifact or a :class:`Committee`: ``name``, ``level_of_theory``,
    ``elements``) can be judged on ``frames``."""
    check_labelled(frames, what)
    level = level_of_theory(frames, what)
    if level is not None and model.level_of_theory is not None and level != model.level_of_theory:
        raise TrainingDataError(
            f"the {what} are labelled at {level!r} but model {model.name} was trained on {model.level_of_theory!r}: "
            "errors against another level of theory measure the methods' difference, not the model; choose frames of the "
            "same level (`--level-of-theory`)"
        )
    check_elements_covered(model.elements, frames, what)


def spread_summary(frames: list[Atoms], preds: list[dict]) -> dict:
    """How well the committee spread tracks the error.

    ``spread_error_spearman``: Spearman rank correlation over frames between the energy spread σ_E/N
    and the absolute energy error |Ē − E_ref|/N (1: the spread ranks frames by error perfectly; the
    basis of committee-driven active learning); mean σ_E/N in meV/atom and mean σ_F in meV/Å.
    """
    from scipy.stats import spearmanr

    n = np.array([len(a) for a in frames], dtype=float)
    err = np.array([abs(p["energy"] - a.info[keys.REF_ENERGY]) for a, p in zip(frames, preds)]) / n
    sig = np.array([p["energy_std"] for p in preds]) / n
    rho = float(spearmanr(sig, err).statistic) if len(frames) > 2 and np.ptp(sig) > 0 and np.ptp(err) > 0 else None
    return {
        "energy_std_mean_meV_atom": float(sig.mean() * EV_TO_MEV),
        "forces_std_mean_meV_A": float(np.mean(np.concatenate([p["forces_std"].ravel() for p in preds])) * EV_TO_MEV),
        "spread_error_spearman": rho,
    }


def _write(project: Project, name: str, tag: str, head: dict, frames, preds, plots: bool) -> dict:
    out = {**head, "n_frames": len(frames), **compute_metrics(frames, preds)}
    if plots:
        out["plots"] = [str(p) for p in parity_plots(frames, preds, project.figure, tag)]
    project.write_results(name, out)
    return out


def validate_committee(project: Project, committee: Committee, frames: list[Atoms], device: str = "cpu",
                       plots: bool = True) -> dict[str, dict]:
    """Evaluate ``committee`` (or its single model) on ``frames``; returns results name -> document
    (written to ``results/<name>.json``)."""
    check_frames_for_model(committee, frames)
    per = committee.member_predictions(frames, device=device)
    name = committee.name
    if len(committee) == 1:
        art = committee.members[0]
        head = {"model": str(art.directory), "level_of_theory": art.level_of_theory}
        return {validate_name(name): _write(project, validate_name(name), name, head, frames, per[0], plots)}
    docs = {}
    for k, (art, preds) in enumerate(zip(committee.members, per)):
        tag = f"{name}_member_{k}"
        head = {"model": str(art.directory), "level_of_theory": art.level_of_theory}
        docs[validate_name(tag)] = _write(project, validate_name(tag), tag, head, frames, preds, plots)
    mean = per_frame_statistics(per)
    head = {"members": [str(m.directory) for m in committee.members], "level_of_theory": committee.level_of_theory,
            "spread": spread_summary(frames, mean)}
    docs[validate_name(name, committee=True)] = _write(project, validate_name(name, committee=True), f"{name}_committee",
                                                       head, frames, mean, plots)
    return docs
