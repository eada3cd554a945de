"""Experimental reference data shipped with ilforge (``data/reference.yaml``), with citations.

The file is a flat list of records built by :func:`build_reference` from the curated compilation
``il_reference_data.yaml`` (ILThermo records, NIST; compilations; papers; every value keeps its
citation and a status: verified / verified-derived / secondary). A record::

    {system: EMIM_BF4, property: density_g_cm3, value: 1.2805, T_K: 298.15, P_bar: 1.0,
     uncertainty: null, citation: "...", status: "verified (verbatim ILThermo record)", note: ...}

Properties (unit in the name): ``density_g_cm3``, ``drho_dT_g_cm3_K``, ``kappa_T_GPa-1``,
``conductivity_S_m``, ``viscosity_Pa_s``, ``Li_O_coordination``, ``xray_sq`` (value: data file name).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import yaml

from ilforge.errors import IlforgeError
from ilforge.units import G_CM3_TO_KG_M3, kg_m3_to_g_cm3

# ILThermo "0.1 MPa" data are stored as P = 1 bar


@dataclass(frozen=True)
class Record:
    system: str
    property: str
    value: float | str
    T_K: float | None = None
    P_bar: float | None = None
    uncertainty: float | None = None
    citation: str = ""
    status: str = ""
    note: str = ""


def _r(system, prop, value, T=None, P=None, unc=None, citation="", status="", note="") -> dict:
    return asdict(Record(system, prop, value, None if T is None else float(T), None if P is None else float(P),
                         None if unc is None else float(unc), " ".join(str(citation).split()), str(status), str(note)))


def _g_cm3(kg_m3):
    """:func:`ilforge.units.kg_m3_to_g_cm3`, None staying None."""
    return None if kg_m3 is None else kg_m3_to_g_cm3(kg_m3)


def _density_dict(sysname: str, dens: dict) -> list[dict]:
    """Density at 298 K, its slope dρ/dT and the ILThermo reference sets (all given in kg/m³)."""
    recs = []
    r298 = dens.get("rho_298K_kg_m3")
    if r298:
        recs.append(_r(sysname, "density_g_cm3", _g_cm3(r298["value"]), 298.15, 1.0, _g_cm3(r298.get("spread_sd", 0)),
                       r298.get("source", ""), r298.get("status", ""), r298.get("how", "")))
    slope = dens.get("drho_dT_kg_m3_K")
    if slope:
        iqr = slope.get("iqr")
        recs.append(_r(sysname, "drho_dT_g_cm3_K", _g_cm3(slope["value"]), 298.15, 1.0,
                       _g_cm3((iqr[1] - iqr[0]) / 2) if iqr else None, slope.get("source", ""), slope.get("status", ""),
                       "median slope of linear fits 280-340 K; uncertainty = half the interquartile range"))
    for rs in dens.get("reference_sets", []):
        for T, rho in rs.get("T_K_rho_kg_m3_at_0.1MPa", []):
            recs.append(_r(sysname, "density_g_cm3", _g_cm3(rho), T, 1.0, None, rs.get("citation", ""), rs.get("status", ""),
                           f"ILThermo set {rs.get('ilthermo_setid', '')}, {rs.get('method', '')}"))
    return recs


def _density_list(sysname: str, dens: list) -> list[dict]:
    """Densities of solutions (LiTFSI in water ...): one entry per concentration, kg/m³ or g/cm³."""
    recs = []
    for e in dens:
        note = ", ".join(f"{k}={e[k]}" for k in ("c_LiTFSI_mol_dm3", "m_mol_kg", "w_LiTFSI", "m_mol_kg_derived") if k in e)
        if "T_K_rho" in e:
            pts = e["T_K_rho"]
        else:
            rho = e.get("rho_kg_m3", e.get("rho_g_cm3", 0) * G_CM3_TO_KG_M3)
            pts = [(e.get("T_K", 298.15), rho)]
        for T, rho in pts:
            recs.append(_r(sysname, "density_g_cm3", _g_cm3(rho), T, 1.0, _g_cm3(e.get("unc")), e.get("citation", ""),
                           e.get("status", ""), note))
    return recs


def _density_records(sysname: str, d: dict) -> list[dict]:
    recs = []
    dens = d.get("density")
    if isinstance(dens, dict):
        recs += _density_dict(sysname, dens)
    elif isinstance(dens, list):
        recs += _density_list(sysname, dens)
    for e in d.get("EMIM_PF6_density", []):
        recs.append(_r("EMIM_PF6", "density_g_cm3", _g_cm3(e["rho_kg_m3"]), e["T_K"], 1.0, None, e.get("citation", ""), e.get("status", "")))
    ds = d.get("density_secondary")
    if ds:
        recs.append(_r(sysname, "density_g_cm3", ds["value_g_cm3"], None, None, None, "", ds.get("status", ""), d.get("note", "")))
    return recs


def _compressibility_records(sysname: str, d: dict) -> list[dict]:
    kt = d.get("isothermal_compressibility")
    if not isinstance(kt, list):
        return []
    recs = []
    for e in kt:
        tf = e.get("tait_fit", {})
        recs.append(_r(sysname, "kappa_T_GPa-1", e["kappa_T_GPa-1_at_0.1MPa"], e["T_K"], 1.0, None, e.get("citation", ""),
                       e.get("status", ""), f"Tait fit rho0={tf.get('rho0_kg_m3')} kg/m3, B={tf.get('B_MPa')} MPa, C={tf.get('C')}; "
                       f"P range {e.get('P_range_MPa')} MPa"))
    return recs


def _transport_records(sysname: str, d: dict) -> list[dict]:
    recs = []
    tr = d.get("transport_ILThermo_compilation", {})
    for prop in ("conductivity_S_m", "viscosity_Pa_s"):
        e = tr.get(prop)
        if not e:
            continue
        for key, val in e.items():
            if key.endswith("K_median"):
                T = float(key.split("K_")[0])
                rng = e.get(f"{int(T)}K_range")
                recs.append(_r(sysname, prop, val, T + 0.15, 1.0, (rng[1] - rng[0]) / 2 if rng else None, e.get("source", ""),
                               e.get("status", ""), "median of an ILThermo-derived compilation; uncertainty = half its range"))
    return recs


def _structure_records(sysname: str, d: dict) -> list[dict]:
    recs = []
    st = d.get("structure", {})
    if "xray_Sq" in st:
        x = st["xray_Sq"]
        recs.append(_r(sysname, "xray_sq", x["file"], 298.15, 1.0, None, x.get("citation", ""), x.get("status", ""),
                       f"q range {x.get('q_range_A-1')} 1/A"))
    if "Li_O_coordination" in st:
        e = st["Li_O_coordination"]["total_exp"]
        recs.append(_r(sysname, "Li_O_coordination", e["value"], 298.15, 1.0, e.get("unc"), e.get("citation", ""), e.get("status", ""),
                       f"m = {e.get('m_mol_kg')} mol/kg; cutoff {st['Li_O_coordination'].get('r_cut_A')} A"))
    return recs


def build_reference(source) -> dict:
    """Flatten the curated compilation (path or loaded dict) into ``{"meta": ..., "records": [...]}``.

    Densities given in kg/m³ become g/cm³ (÷ 1000); every other value keeps its unit (in its name)."""
    src = yaml.safe_load(Path(source).read_text()) if not isinstance(source, dict) else source
    recs: list[dict] = []
    for sysname, d in src["systems"].items():
        for part in (_density_records, _compressibility_records, _transport_records, _structure_records):
            recs += part(sysname, d)
    meta = {"built_from": "il_reference_data.yaml (shipped beside it)", "status_legend": src.get("meta", {}).get("status_legend", {}),
            "note": src.get("meta", {}).get("note", "")}
    return {"meta": meta, "records": recs}


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Record, ...]:
    text = resources.files("ilforge.experiment").joinpath("data/reference.yaml").read_text()
    return tuple(Record(**r) for r in yaml.safe_load(text)["records"])


def load_reference() -> list[Record]:
    """All shipped experimental records."""
    return list(_load())


def systems() -> list[str]:
    return sorted({r.system for r in _load()})


def lookup(system: str, prop: str, T_K: float | None = None, P_bar: float | None = None, tol_K: float = 1.0,
           tol_bar: float = 5.0) -> list[Record]:
    """Records of ``system`` and ``prop`` at T (± tol_K) and P (± tol_bar); None matches any."""
    known = systems()
    if system not in known:
        raise IlforgeError(f"no experimental data for system {system!r}; known systems: {', '.join(known)}")
    out = []
    for r in _load():
        if r.system != system or r.property != prop:
            continue
        if T_K is not None and (r.T_K is None or abs(r.T_K - T_K) > tol_K):
            continue
        if P_bar is not None and r.P_bar is not None and abs(r.P_bar - P_bar) > tol_bar:
            continue
        out.append(r)
    return out
