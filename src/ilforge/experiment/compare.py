"""Predictions next to experiment: value, uncertainty, experimental value, relative error, citation.

A prediction is ``{"property": "density_g_cm3", "value": 1.27, "err": 0.003, "T_K": 298.15, "P_bar": 1.0}``
(property names as in :mod:`ilforge.experiment.reference`). For each prediction the matching
records (same property, T within ``tol_K``, P within ``tol_bar``) are averaged; a density at a
temperature without a measured point falls back to the linear law ρ(T) = ρ(298.15 K) +
(dρ/dT)(T - 298.15 K) from the shipped fit (marked ``interpolated``). Thermal expansion
α = -(dρ/dT)/ρ(298.15 K) is derived from the same two records.
Relative error = (predicted - experimental) / experimental.
"""

from __future__ import annotations

import numpy as np

from ilforge.experiment.reference import lookup


def _experiment(system: str, prop: str, T_K, P_bar, tol_K: float, tol_bar: float) -> dict | None:
    if prop == "alpha_K-1":
        rho = lookup(system, "density_g_cm3", 298.15, None, 0.5)
        slope = lookup(system, "drho_dT_g_cm3_K")
        if not rho or not slope:
            return None
        a = -slope[0].value / rho[0].value
        return {"value": a, "uncertainty": None, "citation": slope[0].citation, "n_records": 1, "how": "-(drho/dT)/rho(298.15 K)"}
    recs = [r for r in lookup(system, prop, T_K, P_bar, tol_K, tol_bar) if isinstance(r.value, (int, float))]
    if recs:
        vals = np.array([r.value for r in recs], dtype=float)
        unc = [r.uncertainty for r in recs if r.uncertainty is not None]
        spread = float(vals.std(ddof=1)) if len(vals) > 1 else (unc[0] if unc else None)
        cites = list(dict.fromkeys(r.citation for r in recs if r.citation))
        return {"value": float(vals.mean()), "uncertainty": spread, "citation": "; ".join(cites[:3]) + (" ..." if len(cites) > 3 else ""),
                "n_records": len(recs), "how": "mean of records" if len(recs) > 1 else "record"}
    if prop == "density_g_cm3" and T_K is not None:
        rho = lookup(system, "density_g_cm3", 298.15, None, 0.5)
        slope = lookup(system, "drho_dT_g_cm3_K")
        if rho and slope and 250 <= T_K <= 400:
            return {"value": rho[0].value + slope[0].value * (T_K - 298.15), "uncertainty": rho[0].uncertainty,
                    "citation": rho[0].citation, "n_records": 1, "how": "interpolated with the linear fit (280-340 K data)"}
    return None


#: the caveat on transport properties from a run whose MSDs never reached the diffusive regime
NOT_DIFFUSIVE = "MSD not yet diffusive: run longer"


def compare(system: str, predictions: list[dict], tol_K: float = 1.0, tol_bar: float = 50.0) -> list[dict]:
    """One row per prediction: property, T_K, P_bar, predicted, predicted_err, experiment, experiment_unc,
    rel_error, citation, how (None fields where no experimental value exists), note (a caveat on the
    prediction, e.g. :data:`NOT_DIFFUSIVE`, or None)."""
    rows = []
    for p in predictions:
        exp = _experiment(system, p["property"], p.get("T_K"), p.get("P_bar"), tol_K, tol_bar)
        row = {"property": p["property"], "label": p.get("label", ""), "T_K": p.get("T_K"), "P_bar": p.get("P_bar"),
               "predicted": p["value"], "predicted_err": p.get("err"), "note": p.get("note"),
               "experiment": None, "experiment_unc": None, "rel_error": None, "citation": None, "how": None}
        if exp is not None:
            row.update(experiment=exp["value"], experiment_unc=exp["uncertainty"], citation=exp["citation"], how=exp["how"],
                       rel_error=(p["value"] - exp["value"]) / exp["value"] if exp["value"] else None)
        rows.append(row)
    return rows


def predictions_from_analysis(doc: dict) -> list[dict]:
    """Turn an ``ilforge analyze`` results document into prediction dicts."""
    preds = []
    for run in doc.get("runs", []):
        T, P = run.get("temperature_K"), run.get("pressure_bar")
        P = 1.0 if P is None else P
        d = run.get("density")
        if d:
            preds.append({"property": "density_g_cm3", "value": d["density_mean_g_cm3"], "err": d["density_err_g_cm3"], "T_K": T, "P_bar": P})
            if d.get("kappa_T_fluct_GPa-1") is not None:
                preds.append({"property": "kappa_T_GPa-1", "value": d["kappa_T_fluct_GPa-1"], "err": d.get("kappa_T_fluct_err_GPa-1"),
                              "T_K": T, "P_bar": P, "label": "volume fluctuations"})
        c = run.get("conductivity")
        if c:
            note = None if c.get("diffusive", True) else NOT_DIFFUSIVE
            preds.append({"property": "conductivity_S_m", "value": c["sigma_EH_S_m"], "err": c.get("sigma_EH_err_S_m"), "T_K": T, "P_bar": P,
                          "label": "Einstein-Helfand", "note": note})
            preds.append({"property": "conductivity_S_m", "value": c["sigma_NE_S_m"], "err": c.get("sigma_NE_err_S_m"), "T_K": T, "P_bar": P,
                          "label": "Nernst-Einstein", "note": note})
        for name, rdf in (run.get("rdf") or {}).items():
            if name.replace(" ", "") in ("Li-O",) and rdf.get("cn_cutoff") is not None:
                preds.append({"property": "Li_O_coordination", "value": rdf["cn_cutoff"], "T_K": T, "P_bar": P})
    eos = doc.get("eos", {})
    if "density_vs_T" in eos:
        f = eos["density_vs_T"]
        preds.append({"property": "drho_dT_g_cm3_K", "value": f["drho_dT"], "err": f.get("drho_dT_err"), "T_K": 298.15, "P_bar": 1.0})
        preds.append({"property": "alpha_K-1", "value": f["alpha_K-1"], "err": f.get("alpha_err_K-1"), "T_K": 298.15, "P_bar": 1.0})
    for T, f in (eos.get("tait") or {}).items():
        preds.append({"property": "kappa_T_GPa-1", "value": f["kappa_T_GPa-1"], "err": f.get("kappa_T_err_GPa-1"), "T_K": float(T), "P_bar": 1.0,
                      "label": "Tait fit"})
    return preds
