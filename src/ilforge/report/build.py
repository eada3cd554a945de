"""The project report: one self-contained HTML page (``Project.report_html``) built from what the
stages left in the project (the recipe copy, the frame store, models, results). Each section is a
small function of the :class:`~ilforge.project.Project` returning a
:class:`~ilforge.report.html.Section`, or None when its data do not exist yet (e.g. no
transferability study), so a partial project still gets a report.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ilforge.errors import CorruptFileError
from ilforge.experiment.compare import NOT_DIFFUSIVE
from ilforge.models.artifact import ModelArtifact
from ilforge.project import LEARNING, MD, PLAN, REFERENCE_CHECK, TRANSFER, Project, analysis_name, validate_name
from ilforge.reference.check import ON_CLASSICAL_STRUCTURES, own_md_note
from ilforge.report.html import Figure, Paragraph, Preformatted, Section, Table, render_html
from ilforge.report.plots import figure_png, line_plot, new_figure

log = logging.getLogger(__name__)

def _png(path) -> bytes | None:
    p = Path(path)
    return p.read_bytes() if p.is_file() else None


def recipe_section(project: Project) -> Section | None:
    path = project.recipe_copy
    if not path.is_file():
        return None
    blocks: list = [Preformatted(path.read_text())]
    plan = project.read_results(PLAN)
    if plan:
        blocks.append(Paragraph(" ".join(plan["messages"])))
        rows = [["species", ", ".join(plan["species"])], ["constraints", "; ".join(plan["constraints"])],
                ["required compositions C", plan["required_compositions"]], ["training", ", ".join(plan["training"]) or "-"],
                ["spans targets", "yes" if plan["spans_targets"] else "no"],
                ["undetermined", "; ".join(plan["undetermined"]) or "-"], ["recommended", ", ".join(plan["recommended"])]]
        blocks.append(Table(["composition plan", ""], rows, "ilforge plan: rank analysis of the compositions"))
    return Section("recipe", "Recipe and composition plan", blocks)


def data_section(project: Project) -> Section | None:
    db = project.frames_db
    if not db.is_file():
        return None
    from ilforge import keys
    from ilforge.store.frames import FrameStore

    store = FrameStore.open(db)
    rows = []
    for lot in store.levels_of_theory():
        frames = store.labelled_frames(level_of_theory=lot)
        counts = Counter((a.info.get(keys.COMPOSITION_ID), a.info.get(keys.CONFIG_TYPE)) for a in frames)
        for (comp, ct), n in sorted(counts.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
            rows.append([lot, comp, ct, n])
        status = store.status_counts(lot)
        rows.append([lot, "(all)", "status", ", ".join(f"{k} {v}" for k, v in sorted(status.items()))])
    blocks: list = [Paragraph(f"{len(store)} frames in the store ({db.name}).")]
    if rows:
        blocks.append(Table(["level of theory", "composition", "config type", "labelled frames"], rows))
    return Section("data", "Data set", blocks)


def reference_check_section(project: Project) -> Section | None:
    """The pre-flight reference check (``ilforge reference check``): each method's molecular virial
    pressure at the check density and the density error it implies, before any MLIP is fitted."""
    res = project.read_results(REFERENCE_CHECK)
    if not res:
        return None
    rows = []
    for m in res["methods"]:
        if m.get("skipped"):
            rows.append([m["name"], "skipped", "", "", "", m["skipped"]])
            continue
        err = m.get("implied_density_error_percent")
        rows.append([m["name"] + (" (chosen)" if m.get("chosen") else ""),
                     f"{m['pressure_GPa']:+.2f} ± {m['pressure_spread_GPa']:.2f}",
                     "-" if err is None else f"{err:+.1f}",
                     "-" if err is None else f"{res['density_g_cm3'] * (1 + err / 100):.3f}",
                     f"{m['seconds_per_frame']:.1f}", m.get("eos_model", "")])
    caption = (f"{res['composition_id']} at {res['temperature_K']} K, {res['density_g_cm3']:.3f} g/cm³ "
               f"({res['n_frames']} snapshots, {res['thermalised_with']}{own_md_note(res.get('own_md_steps', 0))})")
    blocks: list = [Table(["method", "P_mol / GPa", "implied density error / %", "implied density / g cm⁻³", "s per frame",
                           "equation of state"], rows, caption)]
    if not res.get("own_md_steps"):
        blocks.append(Paragraph(ON_CLASSICAL_STRUCTURES))
    blocks += [Paragraph("WARNING: " + m["warning"]) for m in res["methods"] if m.get("warning")]
    return Section("reference", "Reference level: pre-flight pressure check", blocks)


def _training_curve(arts: list[ModelArtifact]) -> bytes | None:
    """Validation errors per epoch of each model (the backends' normalised ``training_curve.json``)."""
    series = {}
    for art in arts:
        curve = art.training_curve()
        if not curve:
            continue
        tag = "" if len(arts) == 1 else f" ({art.directory.name})"
        for key, label in (("valid_energy_rmse_meV_atom", "energy RMSE / meV/atom"), ("valid_forces_rmse_meV_A", "force RMSE / meV/Å")):
            pts = [(e, v) for e, v in zip(curve["epochs"], curve.get(key) or []) if v is not None]
            if pts:
                series[f"{label}{tag}"] = tuple(map(list, zip(*pts)))
    if not series:
        return None
    return line_plot(series, "epoch", "validation error", "Training curve", logy=True)


def _trained_models(project: Project) -> list[ModelArtifact]:
    """Every trained model of the project (committee members included), transfer-study models excepted."""
    arts = []
    for name in project.model_names():
        if name == TRANSFER:
            continue
        for p in sorted(project.model_dir(name).glob("**/model.json")):
            try:
                arts.append(ModelArtifact.load(p.parent))
            except Exception as exc:  # noqa: BLE001 - a broken model is reported, not fatal to the report
                log.warning("report: skipping %s (%s)", p.parent, exc)
    return arts


def training_section(project: Project) -> Section | None:
    arts = _trained_models(project)
    if not arts:
        return None
    rows = []
    for art in arts:
        info = art.info
        m = info.get("metrics_valid") or {}
        rows.append([str(art.directory.relative_to(project.models_root())), info.get("backend"), info.get("level_of_theory"),
                     info.get("n_train"), info.get("e0s", {}).get("method"), m.get("energy_mae_meV_atom"),
                     m.get("forces_mae_meV_A"), (info.get("timings_s") or {}).get("train")])
    blocks: list = [Table(["model", "backend", "level of theory", "training frames", "E0s", "valid E MAE / meV/atom",
                           "valid F MAE / meV/Å", "training time / s"], rows)]
    png = _training_curve(arts)
    if png:
        blocks.append(Figure(png, "Validation errors during training"))
    return Section("training", "Training", blocks)


def _validation(project: Project, model_name: str) -> dict | None:
    """The validation of the model: the committee mean when there is one, else the model."""
    return project.read_results(validate_name(model_name, committee=True)) or project.read_results(validate_name(model_name))


def errors_section(project: Project, model_name: str) -> Section | None:
    res = _validation(project, model_name)
    if not res:
        return None

    def row(name, b):
        return [name, b["n_frames"], b["energy_mae_meV_atom"], b["energy_rmse_meV_atom"], b["forces_mae_meV_A"],
                b["forces_rmse_meV_A"], b.get("stress_mae_meV_A3", "-")]

    rows = [row("overall", res["overall"])]
    for key in ("by_composition_id", "by_temperature_K", "by_config_type"):
        for g, b in (res.get(key) or {}).items():
            rows.append(row(f"{key[3:]} = {g}", b))
    blocks: list = [Table(["group", "frames", "E MAE / meV/atom", "E RMSE", "F MAE / meV/Å", "F RMSE", "S MAE / meV/Å³"], rows,
                          f"held-out test frames, level of theory {res.get('level_of_theory')}")]
    fe = res["overall"].get("forces_by_element") or {}
    if fe:
        blocks.append(Table(["element", "F MAE / meV/Å", "F RMSE / meV/Å"], [[el, v["mae_meV_A"], v["rmse_meV_A"]] for el, v in fe.items()]))
    pc = res.get("pressure_check")
    if pc:
        blocks.append(Paragraph(
            f"Pressure on the {pc['n_frames']} reference-check snapshots: model {pc['model_pressure_GPa']:+.2f} GPa, "
            f"reference ({pc['reference']}) {pc['reference_pressure_GPa']:+.2f} ± {pc['reference_spread_GPa']:.2f} GPa: "
            + ("agrees" if pc["agrees"] else f"DISAGREES by {pc['mean_difference_GPa']:+.2f} GPa (tolerance "
               f"{pc['tolerance_GPa']:.2f}); the model's NPT density will differ from its reference's")))
    for p in res.get("plots", []):
        png = _png(p)
        if png:
            blocks.append(Figure(png, Path(p).stem.replace("_", " ")))
    return Section("errors", "Test errors", blocks)


def transfer_section(project: Project) -> Section | None:
    res = project.read_results(TRANSFER)
    if not res:
        return None
    comps = res["compositions"]
    rows = []
    for k, s in enumerate(res["training_sets"]):
        rows.append([s["name"], "yes" if s.get("spans") else "no"] + [res["energy_mae_meV_atom"][k][j] for j in range(len(comps))])
    blocks: list = [Table(["training set", "spans"] + comps, rows, "energy MAE / meV/atom per test composition")]
    blocks += [Paragraph(f"{s['name']}: {s['verdict']}") for s in res["training_sets"] if s.get("verdict")]
    for name in ("transfer_energy_mae", "transfer_forces_mae"):
        png = _png(project.figure(name))
        if png:
            blocks.append(Figure(png, name.replace("_", " ")))
    return Section("transfer", "Transferability across compositions", blocks)


def md_section(project: Project) -> Section | None:
    runs = project.read_results(MD)
    if not runs:
        return None
    rows = []
    for r in runs:
        st = r["state"]
        rows.append([r["composition_id"], st.get("temperature_K"), st.get("pressure_bar"), r["status"],
                     f"{r['steps_done']}/{r['steps_total']}", r.get("atom_steps_per_s"), r.get("problem") or "-"])
    blocks: list = [Table(["composition", "T / K", "P / bar", "status", "steps", "atom-steps/s", "stopped because"], rows)]
    series = {}
    for cid in project.md_compositions():
        doc = project.read_results(analysis_name(cid))
        for run in (doc or {}).get("runs", []):
            d = run.get("density")
            if d and "time_ps" in d:
                series[f"{cid} {run.get('temperature_K')} K"] = (d["time_ps"], d["density_g_cm3"])
    if series:
        blocks.append(Figure(line_plot(series, "time / ps", "density / g cm$^{-3}$", "Density during production"), "density time series"))
    return Section("md", "MLIP MD stability", blocks)


def learning_section(project: Project) -> Section | None:
    """The active-learning loop (``ilforge learn``): per generation the training frames, the committee's
    test error and spread, and the selected frames; MD stability per state point and generation; where
    the selected frames came from (run and reason)."""
    doc = project.read_results(LEARNING)
    if not doc:
        return None
    gens, rows, stab, origin = doc["generations"], [], {}, Counter()
    for g in gens:
        test = g.get("test") or {}
        rows.append([g["generation"], g["n_train"], test.get("forces_rmse_meV_A"), test.get("energy_rmse_meV_atom"),
                     g.get("spread_mean_eV_A"), g.get("off_window_fraction"), len(g.get("selected") or []),
                     {True: "yes", False: "no"}.get(g.get("spans_targets"), "-"), g["phase"]])
        for r in g.get("runs") or []:
            stab.setdefault(r["run"], []).append("stable" if r["status"] == "completed" else
                                                 f"stopped at {r['steps_done']}/{r['steps_total']}")
        origin.update((s["run"], s["reason"]) for s in g.get("selected") or [])
    blocks: list = [Paragraph(f"Status: {doc['status']}; {doc['n_initial']} initial labelled frames, {doc['labels']} "
                              f"labelled by the loop at {doc['level_of_theory']}.")]
    blocks.append(Table(["generation", "training frames", "test F RMSE / meV/Å", "test E RMSE / meV/atom",
                         "mean spread / eV/Å", "uncertain fraction", "selected", "spans targets", "phase"], rows,
                        "committee spread: max over atoms of the force standard deviation, mean over exploration frames"))
    blocks.append(Table(["state point"] + [f"gen {g['generation']}" for g in gens],
                        [[run] + v + [""] * (len(gens) - len(v)) for run, v in sorted(stab.items())], "exploration MD stability"))
    if origin:
        blocks.append(Table(["run", "reason", "frames selected"], [[r, why, n] for (r, why), n in sorted(origin.items())],
                            "where the selected frames came from (failure: cut back before a monitor stopped the run; "
                            "window: committee spread in the trust window)"))
    return Section("learning", "Active learning", blocks)


def _analyses(project: Project, prefix: str = "analysis_") -> list[tuple[str, dict]]:
    """(composition id, document) of every ``results/<prefix><cid>.json``."""
    return [(n.removeprefix(prefix), project.read_results(n)) for n in project.results_names(prefix)]


def preflight_density(project: Project) -> tuple[str, float, float, str] | None:
    """(composition id, T/K, density g/cm³, method) the pre-flight check implies for the recipe's
    labeler: the check density × (1 + implied error); None without a check or a labeler row."""
    res = project.read_results(REFERENCE_CHECK)
    rows = [m for m in (res or {}).get("methods", []) if m.get("chosen") and m.get("implied_density_error_percent") is not None]
    if not rows:
        return None
    m = rows[0]
    return (res["composition_id"], float(res["temperature_K"]),
            res["density_g_cm3"] * (1 + m["implied_density_error_percent"] / 100), m["name"])


def properties_section(project: Project) -> Section | None:
    files = _analyses(project, "compare_")
    if not files:
        return None
    pre = preflight_density(project)
    rows, cites = [], []
    for cid, doc in files:
        for r in doc["rows"]:
            cite = r.get("citation")
            if cite and cite not in cites:
                cites.append(cite)
            ref = f"[{cites.index(cite) + 1}]" if cite else "-"
            rel = f"{100 * r['rel_error']:+.1f} %" if r.get("rel_error") is not None else "-"
            pred = f"{r['predicted']:.4g}" + (f" ± {r['predicted_err']:.2g}" if r.get("predicted_err") else "")
            prop = f"{r['property']} {r.get('label') or ''}".strip() + (f" ({r['note']})" if r.get("note") else "")
            est = (f"{pre[2]:.3f}" if pre and r["property"] == "density_g_cm3" and cid == pre[0]
                   and r.get("T_K") is not None and abs(r["T_K"] - pre[1]) < 1.0 else "-")
            rows.append([cid, doc.get("system") or "-", prop,
                         r.get("T_K"), pred, r["experiment"] if r["experiment"] is not None else "-", rel, ref, est])
    blocks: list = [Table(["composition", "system", "property", "T / K", "MLIP", "experiment", "error", "ref.",
                           "reference level, pre-flight"], rows)]
    if pre:
        blocks.append(Paragraph(f"Pre-flight: the reference level ({pre[3]}) puts {pre[0]} at {pre[1]:g} K near "
                                f"{pre[2]:.3f} g/cm³ before any fit (section 'Reference level'); an MLIP that "
                                "reproduces its reference lands there, not at experiment."))
    for k, c in enumerate(cites):
        blocks.append(Paragraph(f"[{k + 1}] {c}"))
    for cid, doc in _analyses(project):
        for run in doc.get("runs", []):
            for s, D in ((run.get("diffusion") or {}).get("D_m2_s") or {}).items():
                blocks.append(Paragraph(f"{cid} at {run.get('temperature_K')} K: D({s}) = {D:.3e} m²/s"
                                        + ("" if run["diffusion"]["diffusive"][s] else f" ({NOT_DIFFUSIVE})")))
    return Section("properties", "Properties vs experiment", blocks)


def structure_section(project: Project) -> Section | None:
    blocks: list = []
    for comp, doc in _analyses(project):
        for run in doc.get("runs", [])[:1]:
            rdfs = run.get("rdf") or {}
            if rdfs:
                series = {name: (g["r_A"], g["g"]) for name, g in rdfs.items()}
                blocks.append(Figure(line_plot(series, "r / Å", "g(r)", f"RDFs, {comp}"), f"radial distribution functions ({comp})"))
                rows = [[name, g.get("cn_cutoff", g.get("cn_first_min")), g.get("cutoff_A", g.get("first_min_r_A"))] for name, g in rdfs.items()]
                blocks.append(Table(["pair", "coordination number", "within r / Å"], rows))
            diff = run.get("diffusion") or {}
            if diff.get("msd_A2"):
                series = {s: (diff["lag_ps"][1:], np.asarray(m)[1:]) for s, m in diff["msd_A2"].items()}
                blocks.append(Figure(line_plot(series, "lag / ps", "MSD / Å$^2$", f"Centre-of-mass MSD, {comp}", logx=True, logy=True),
                                     f"mean-squared displacements ({comp})"))
            sq = run.get("sq")
            if sq:
                fig, ax = new_figure()
                ax.plot(sq["q_A"], sq["S"], label="MLIP")
                if sq.get("q_exp_A"):
                    ax.plot(sq["q_exp_A"], sq["S_exp"], "k.", ms=3, label="experiment")
                ax.set_xlabel("q / Å$^{-1}$")
                ax.set_ylabel("S(q)")
                ax.legend()
                rf = f", R = {sq['R_factor']:.3f}" if sq.get("R_factor") is not None else ""
                blocks.append(Figure(figure_png(fig), f"X-ray structure factor ({comp}{rf})"))
    return Section("structure", "Structure and transport", blocks) if blocks else None


SECTIONS = [recipe_section, reference_check_section, data_section, learning_section, training_section, errors_section, transfer_section, md_section,
            properties_section, structure_section]


class _ReadLog:
    """The project as the section builders see it, remembering which results files they read, so a
    file of the wrong shape can be named."""

    def __init__(self, project: Project):
        self._project = project
        self.read: list[str] = []

    def __getattr__(self, name):
        return getattr(self._project, name)

    def read_results(self, name: str):
        self.read.append(name)
        return self._project.read_results(name)


def build_sections(project: Project, model_name: str) -> list[Section]:
    """Every section whose data exist; ``model_name`` is the model whose test errors are shown.

    A results file of the wrong shape (not what its stage writes) is a :class:`CorruptFileError` naming it."""
    out = []
    for make in SECTIONS:
        seen = _ReadLog(project)
        try:
            sec = make(seen, model_name) if make is errors_section else make(seen)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            if not seen.read:
                raise
            files = ", ".join(str(project.results(n)) for n in seen.read)
            raise CorruptFileError(
                f"report: {files} does not hold what its stage writes ({type(exc).__name__}: {exc}); delete it and "
                f"rerun the stage that writes it (e.g. `ilforge run RECIPE --workdir {project.root}`)"
            ) from None
        if sec is not None:
            out.append(sec)
    return out


def write_report(project: Project, model_name: str) -> Path:
    """Write the project's report page (atomically) and return its path; ``model_name``: the model
    whose test errors are shown (the recipe's ``training.model_name``)."""
    name = project.root.resolve().name
    try:
        import yaml

        name = (yaml.safe_load(project.recipe_copy.read_text()) or {}).get("name", name)
    except (OSError, ValueError, AttributeError):
        pass
    html = render_html(f"ilforge report: {name}", build_sections(project, model_name),
                       subtitle=f"generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from {project.root.resolve()}")
    path = project.report_html
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html)
    tmp.replace(path)
    return path
