"""``ilforge analyze``: properties from MD runs (density, EOS fits, diffusion, conductivity, RDFs, S(q), ions)."""

from __future__ import annotations

from pathlib import Path

VERB = "analyze"
HELP = "compute properties with block-averaged errors from MD runs (run directories or H5MD files)"
ORDER = 80

#: where the analysis goes by default: a path relative to the current directory, not a project's
DEFAULT_OUT = "results/analysis.json"


def register(p):
    p.add_argument("runs", type=Path, nargs="+", help="run directories (with production.h5) or H5MD files; several state points -> EOS fits")
    p.add_argument("--recipe", type=Path, help="take the analysis section from this recipe")
    p.add_argument("--properties", help="comma-separated subset of density,diffusion,conductivity,rdf,sq,ions")
    p.add_argument("--rdf", action="append", default=[], metavar="A-B", help="element-pair RDF, e.g. Li-O (repeatable)")
    p.add_argument("--com-rdf", action="append", default=[], metavar="A-B", help="centre-of-mass RDF of two species, e.g. EMIM-BF4")
    p.add_argument("--charges", action="append", default=[], metavar="S=Z,...",
                   help="formal charges (e) of species outside the library, e.g. AR=0,NE=0 (conductivity, ions, default COM RDFs)")
    p.add_argument("--rdf-rmax-A", type=float, dest="rdf_rmax_A")
    p.add_argument("--viscosity-Pa-s", type=float, dest="viscosity_Pa_s", help="for the Yeh-Hummer correction")
    p.add_argument("--system", help="experimental system (see `ilforge compare --list`): its viscosity is used for Yeh-Hummer")
    p.add_argument("--sq-experiment", help="experimental S(q) file for the R-factor (adds 'sq' to the properties)")
    p.add_argument("--n-blocks", type=int, dest="n_blocks")
    p.add_argument("--skip-ps", type=float, dest="skip_ps")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output JSON (default {DEFAULT_OUT}, relative to the current directory)")
    p.set_defaults(func=run)


#: settings field -> the option that sets it (for error messages)
OPTION_OF = {"n_blocks": "--n-blocks", "properties": "--properties", "rdf_rmax_A": "--rdf-rmax-A", "skip_ps": "--skip-ps",
             "viscosity_Pa_s": "--viscosity-Pa-s", "rdf_pairs": "--rdf", "com_rdf_pairs": "--com-rdf", "charges": "--charges",
             "sq_experiment": "--sq-experiment"}


def _pair(s):
    from ilforge.errors import IlforgeError

    parts = s.split("-")
    if len(parts) != 2 or not all(parts):
        raise IlforgeError(f"pair {s!r}: write it as A-B, e.g. Li-O")
    return tuple(parts)


def _properties(text: str) -> list[str]:
    from ilforge.analysis.settings import PROPERTIES
    from ilforge.errors import IlforgeError

    props = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in props if p not in PROPERTIES]
    if bad or not props:
        raise IlforgeError(f"--properties {text!r}: unknown property {', '.join(bad) or '(none given)'}; choose from {','.join(PROPERTIES)}")
    return props


def _charges(items: list[str]) -> dict[str, float]:
    """``["AR=0,NE=0", "Li=1"]`` -> {"AR": 0.0, "NE": 0.0, "Li": 1.0}."""
    from ilforge.errors import IlforgeError

    out = {}
    for item in ",".join(items).split(","):
        name, sep, z = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(z)
        except ValueError:
            raise IlforgeError(f"--charges {item!r}: write SPECIES=Z pairs, e.g. --charges AR=0,NE=0 or EMIM=1,BF4=-1") from None
    return out


def _settings(args):
    from ilforge.analysis.settings import settings_from

    data = {}
    if args.recipe:
        from ilforge.analysis.driver import recipe_analysis_settings
        from ilforge.recipe import load_recipe

        data = recipe_analysis_settings(load_recipe(args.recipe)).model_dump(exclude_unset=True)
    for k in ("rdf_rmax_A", "viscosity_Pa_s", "n_blocks", "skip_ps", "sq_experiment"):
        if getattr(args, k) is not None:
            data[k] = getattr(args, k)
    if args.properties is not None:
        data["properties"] = _properties(args.properties)
    if args.rdf:
        data["rdf_pairs"] = [_pair(s) for s in args.rdf]
    if args.com_rdf:
        data["com_rdf_pairs"] = [_pair(s) for s in args.com_rdf]
    if args.charges:
        data["charges"] = {**data.get("charges", {}), **_charges(args.charges)}
    settings = settings_from(data, OPTION_OF)
    if args.sq_experiment and "sq" not in settings.properties:
        settings.properties.append("sq")  # in place: the list stays "not given" unless --properties was
    return settings


def _print_run(r: dict) -> None:
    print(f"{r['path']}: T={r.get('temperature_K')} K, P={r.get('pressure_bar')} bar, {r['n_frames']} frames")
    if "density" in r:
        d = r["density"]
        print(f"  density {d['density_mean_g_cm3']:.4f} ± {d['density_err_g_cm3']:.4f} g/cm3")
        if d.get("kappa_T_fluct_GPa-1") is not None:
            print(f"  kappa_T (volume fluctuations) {d['kappa_T_fluct_GPa-1']:.3f} ± {d['kappa_T_fluct_err_GPa-1'] or float('nan'):.3f} 1/GPa")
    for s, D in (r.get("diffusion", {}).get("D_m2_s") or {}).items():
        err = r["diffusion"]["D_err_m2_s"][s]
        flag = "" if r["diffusion"]["diffusive"][s] else "  (not diffusive yet: run longer)"
        print(f"  D({s}) {D:.3e} ± {err if err is not None else float('nan'):.1e} m2/s{flag}")
        yh = (r["diffusion"].get("D_yeh_hummer_m2_s") or {}).get(s)
        if yh is not None:
            print(f"  D({s}) Yeh-Hummer corrected (eta {r['diffusion']['viscosity_Pa_s']:.3g} Pa s): {yh:.3e} m2/s")
    if "conductivity" in r:
        c = r["conductivity"]
        print(f"  sigma_NE {c['sigma_NE_S_m']:.3g} S/m, sigma_EH {c['sigma_EH_S_m']:.3g} S/m, ratio {c['ratio_EH_NE']:.2f}")
    for name, g in (r.get("rdf") or {}).items():
        cn = g.get("cn_cutoff", g.get("cn_first_min"))
        where = g.get("cutoff_A", g.get("first_min_r_A"))
        peak = f"first peak at {g['first_peak_r_A']:.2f} A (g {g['first_peak_g']:.2f})" if g.get("first_peak_r_A") else "no significant peak"
        print(f"  RDF {name}: {peak}" + (f", CN {cn:.2f} within {where:.2f} A" if cn is not None else ""))
    if "sq" in r and r["sq"].get("R_factor") is not None:
        print(f"  X-ray S(q) R-factor {r['sq']['R_factor']:.3f}")
    if "ions" in r:
        i = r["ions"]
        print(f"  {i['close_contacts_total']} close cation contacts (< {i['close_contact_A']} A) in {i['frames_with_close_contact']} frames; "
              f"free/CIP/AGG {i['free_fraction']:.2f}/{i['contact_pair_fraction']:.2f}/{i['aggregate_fraction']:.2f}")


def run(args) -> int:
    from ilforge.analysis.driver import analyze_runs
    from ilforge.jsonio import write_json_atomic

    doc = analyze_runs(args.runs, _settings(args), system=args.system)
    write_json_atomic(args.out, doc)
    for r in doc["runs"]:
        _print_run(r)
    eos = doc["eos"]
    if "density_vs_T" in eos:
        f = eos["density_vs_T"]
        print(f"density vs T: drho/dT {f['drho_dT']:.3e} g/cm3/K, alpha {f['alpha_K-1']:.3e} 1/K")
    for T, f in (eos.get("tait") or {}).items():
        print(f"Tait fit at {T} K: kappa_T {f['kappa_T_GPa-1']:.3f} 1/GPa (B {f['B_MPa']:.0f} MPa, C {f['C']:.4f})")
    print(f"results -> {args.out}")
    return 0
