"""Plots of validation results (matplotlib, Agg backend): parity plots and learning curves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.labels import voigt


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def parity_plots(frames: list[Atoms], preds: list[dict], figure: Callable[[str], Path], prefix: str) -> list[Path]:
    """Predicted vs reference: energy per atom (eV/atom), force components (eV/Å) and stress (eV/Å³),
    coloured by composition; ``figure(name)`` gives the path of figure ``<prefix>_parity_<what>``."""
    plt = _plt()
    groups = sorted({str(a.info.get(keys.COMPOSITION_ID, "")) for a in frames})
    colour = {g: plt.cm.viridis(i / max(1, len(groups) - 1)) for i, g in enumerate(groups)}
    panels = [("energy", "energy / eV atom$^{-1}$"), ("forces", "force component / eV Å$^{-1}$")]
    if all(p.get("stress") is not None and keys.REF_STRESS in a.info for a, p in zip(frames, preds)):
        panels.append(("stress", "stress component / eV Å$^{-3}$"))
    paths = []
    for what, label in panels:
        fig, ax = plt.subplots(figsize=(4.2, 4.0))
        for g in groups:
            idx = [i for i, a in enumerate(frames) if str(a.info.get(keys.COMPOSITION_ID, "")) == g]
            if what == "energy":
                ref = [frames[i].info[keys.REF_ENERGY] / len(frames[i]) for i in idx]
                pred = [preds[i]["energy"] / len(frames[i]) for i in idx]
            elif what == "forces":
                ref = np.concatenate([frames[i].arrays[keys.REF_FORCES].ravel() for i in idx])
                pred = np.concatenate([np.asarray(preds[i]["forces"]).ravel() for i in idx])
            else:
                ref = np.concatenate([voigt(frames[i].info[keys.REF_STRESS]) for i in idx])
                pred = np.concatenate([voigt(preds[i]["stress"]) for i in idx])
            ax.scatter(ref, pred, s=6 if what != "energy" else 14, color=colour[g], label=g or None, alpha=0.7)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"model {label}")
        if len(groups) > 1 and len(groups) <= 12:
            ax.legend(fontsize=6, title="composition", title_fontsize=7)
        fig.tight_layout()
        p = Path(figure(f"{prefix}_parity_{what}"))
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=130)
        plt.close(fig)
        paths.append(p)
    return paths


def learning_curve_plot(curve: dict, path: Path) -> Path:
    """Energy and force MAE vs number of training frames (log-log)."""
    plt = _plt()
    n = [p["n_train"] for p in curve["points"]]
    fig, ax = plt.subplots(1, 2, figsize=(7.5, 3.2))
    ax[0].loglog(n, [p["energy_mae_meV_atom"] for p in curve["points"]], "o-")
    ax[0].set_ylabel("energy MAE / meV atom$^{-1}$")
    ax[1].loglog(n, [p["forces_mae_meV_A"] for p in curve["points"]], "o-")
    ax[1].set_ylabel("force MAE / meV Å$^{-1}$")
    for a in ax:
        a.set_xlabel("training frames")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
