"""``ilforge validate``: errors of a trained model (or committee) on labelled frames, written to results/.

Checks first that the frames can be judged by the model: same level of theory as its training
labels, and no element the model never saw.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ase import Atoms

from ilforge.models.artifact import ModelArtifact
from ilforge.models.base import TrainingDataError, check_elements_covered, check_labelled, get_backend, level_of_theory
from ilforge.validate.metrics import compute_metrics
from ilforge.validate.plots import parity_plots

log = logging.getLogger(__name__)


def check_frames_for_model(artifact: ModelArtifact, frames: list[Atoms], what: str = "test frames") -> None:
    check_labelled(frames, what)
    level = level_of_theory(frames, what)
    if level is not None and artifact.level_of_theory is not None and level != artifact.level_of_theory:
        raise TrainingDataError(
            f"the {what} are labelled at {level!r} but model {artifact.name} was trained on {artifact.level_of_theory!r}: "
            "errors against another level of theory measure the methods' difference, not the model; choose frames of the "
            "same level (`--level-of-theory`)"
        )
    check_elements_covered(artifact.elements, frames, what)


def validate_model(
    artifact: ModelArtifact, frames: list[Atoms], results_dir: str | Path, device: str = "cpu", plots: bool = True, tag: str | None = None
) -> dict:
    """Metrics (overall and per composition / temperature / config_type) and parity plots.

    Writes ``results_dir/validate_<model>.json`` and ``<model>_parity_*.png``; returns the results dict.
    """
    check_frames_for_model(artifact, frames)
    preds = get_backend(artifact.backend).predict(artifact, frames, device=device)
    metrics = compute_metrics(frames, preds)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    tag = tag or artifact.name
    out = {"model": str(artifact.directory), "level_of_theory": artifact.level_of_theory, "n_frames": len(frames), **metrics}
    if plots:
        out["plots"] = [str(p) for p in parity_plots(frames, preds, results_dir, tag)]
    (results_dir / f"validate_{tag}.json").write_text(json.dumps(out, indent=2))
    return out


def committee_predictions(members: list[ModelArtifact], frames: list[Atoms], device: str = "cpu") -> tuple[list[dict], list[dict]]:
    """(mean predictions, spreads) of a committee: per frame the members' mean energy/forces/stress and
    ``energy_std`` (eV), ``forces_std`` ((n, 3) eV/Å), standard deviations over members (ddof = 0)."""
    import numpy as np

    per = [get_backend(m.backend).predict(m, frames, device=device) for m in members]
    mean, spread = [], []
    for i in range(len(frames)):
        e = np.array([p[i]["energy"] for p in per])
        f = np.array([p[i]["forces"] for p in per])
        s = [p[i]["stress"] for p in per]
        mean.append({"energy": float(e.mean()), "forces": f.mean(axis=0),
                     "stress": np.mean(s, axis=0) if all(x is not None for x in s) else None})
        spread.append({"energy_std": float(e.std()), "forces_std": f.std(axis=0)})
    return mean, spread


def validate_committee(members: list[ModelArtifact], frames: list[Atoms], results_dir: str | Path, tag: str,
                       device: str = "cpu", plots: bool = True) -> dict:
    """Errors of the committee mean, and how well the spread tracks the error.

    ``spread_error_spearman``: Spearman rank correlation over frames between the committee's energy
    spread σ_E/N and the absolute energy error |Ē − E_ref|/N (1: the spread ranks frames by error
    perfectly; the basis of committee-driven active learning). Writes ``validate_<tag>_committee.json``.
    """
    import numpy as np
    from scipy.stats import spearmanr

    from ilforge import keys

    for m in members:
        check_frames_for_model(m, frames)
    mean, spread = committee_predictions(members, frames, device)
    metrics = compute_metrics(frames, mean)
    n = np.array([len(a) for a in frames], dtype=float)
    err = np.array([abs(p["energy"] - a.info[keys.REF_ENERGY]) for a, p in zip(frames, mean)]) / n
    sig = np.array([s["energy_std"] for s in spread]) / n
    rho = float(spearmanr(sig, err).statistic) if len(frames) > 2 and np.ptp(sig) > 0 and np.ptp(err) > 0 else None
    out = {
        "members": [str(m.directory) for m in members],
        "n_frames": len(frames),
        **metrics,
        "spread": {
            "energy_std_mean_meV_atom": float(sig.mean() * 1e3),
            "forces_std_mean_meV_A": float(np.mean(np.concatenate([s["forces_std"].ravel() for s in spread])) * 1e3),
            "spread_error_spearman": rho,
        },
    }
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    if plots:
        out["plots"] = [str(p) for p in parity_plots(frames, mean, results_dir, f"{tag}_committee")]
    (results_dir / f"validate_{tag}_committee.json").write_text(json.dumps(out, indent=2))
    return out
