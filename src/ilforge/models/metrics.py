"""Error metrics of model predictions against reference labels, overall and per group.

For frames f with N_f atoms, reference energy E_f and prediction Ê_f (eV), forces F_fi and F̂_fi
(eV/Å) and stress σ_f, σ̂_f (eV/Å³, Voigt 6):

- energy MAE = mean_f |Ê_f − E_f| / N_f, RMSE = sqrt(mean_f ((Ê_f − E_f)/N_f)²), in meV/atom;
- force MAE = mean over all Cartesian components of |F̂ − F|, RMSE likewise, in meV/Å
  (also per element: the components of atoms of that element only);
- stress MAE/RMSE over the 6 Voigt components, in meV/Å³.

These are the usual MLIP definitions (per-atom energy errors, force-component errors); an
integration test checks that they agree with a backend's own evaluation tool on the same model and
frames.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from ase import Atoms

from ilforge import keys
from ilforge.labels import voigt
from ilforge.units import EV_TO_MEV

GROUP_KEYS = (keys.COMPOSITION_ID, keys.TEMPERATURE_K, keys.CONFIG_TYPE)


def error_block(frames: list[Atoms], preds: list[dict]) -> dict:
    """MAE/RMSE of energy (meV/atom), forces (meV/Å, also per element) and stress (meV/Å³)."""
    de = np.array([(p["energy"] - float(a.info[keys.REF_ENERGY])) / len(a) for a, p in zip(frames, preds)])
    df = [np.asarray(p["forces"]) - a.arrays[keys.REF_FORCES] for a, p in zip(frames, preds)]
    out = {
        "n_frames": len(frames),
        "n_atoms": int(sum(len(a) for a in frames)),
        "energy_mae_meV_atom": float(np.mean(np.abs(de)) * EV_TO_MEV),
        "energy_rmse_meV_atom": float(np.sqrt(np.mean(de**2)) * EV_TO_MEV),
    }
    allf = np.concatenate([d.ravel() for d in df])
    out["forces_mae_meV_A"] = float(np.mean(np.abs(allf)) * EV_TO_MEV)
    out["forces_rmse_meV_A"] = float(np.sqrt(np.mean(allf**2)) * EV_TO_MEV)
    per_el: dict[str, list[np.ndarray]] = defaultdict(list)
    for a, d in zip(frames, df):
        symbols = np.array(a.get_chemical_symbols())
        for el in np.unique(symbols):
            per_el[str(el)].append(d[symbols == el].ravel())
    out["forces_by_element"] = {
        el: {"mae_meV_A": float(np.mean(np.abs(v)) * EV_TO_MEV), "rmse_meV_A": float(np.sqrt(np.mean(v**2)) * EV_TO_MEV)}
        for el, v in sorted(per_el.items())
        for v in [np.concatenate(v)]
    }
    ds = [voigt(p["stress"]) - voigt(a.info[keys.REF_STRESS]) for a, p in zip(frames, preds)
          if p.get("stress") is not None and keys.REF_STRESS in a.info]
    if ds:
        ds = np.concatenate(ds)
        out["stress_mae_meV_A3"] = float(np.mean(np.abs(ds)) * EV_TO_MEV)
        out["stress_rmse_meV_A3"] = float(np.sqrt(np.mean(ds**2)) * EV_TO_MEV)
        out["n_frames_stress"] = int(ds.size // 6)
    return out


def compute_metrics(frames: list[Atoms], preds: list[dict], group_keys=GROUP_KEYS) -> dict:
    """``{"overall": block, "by_<key>": {value: block}}`` for each key of ``group_keys`` present in the frames."""
    if len(frames) != len(preds):
        raise ValueError(f"{len(frames)} frames but {len(preds)} predictions")
    result = {"overall": error_block(frames, preds)}
    for key in group_keys:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, a in enumerate(frames):
            if key in a.info:
                groups[str(a.info[key])].append(i)
        if groups:
            result[f"by_{key}"] = {
                g: error_block([frames[i] for i in idx], [preds[i] for i in idx]) for g, idx in sorted(groups.items())
            }
    return result
