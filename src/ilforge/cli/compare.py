"""``ilforge compare``: predicted properties next to experiment, with relative errors and citations."""

from __future__ import annotations

import json
from pathlib import Path

VERB = "compare"
HELP = "put predicted properties (from `ilforge analyze`) next to experimental data with relative errors"
ORDER = 85

#: the analysis file `ilforge analyze` writes by default (relative to the current directory)
DEFAULT_OUT = "results/analysis.json"


def register(p):
    p.add_argument("results", type=Path, nargs="*", default=[Path(DEFAULT_OUT)], help=f"analysis JSON files (default {DEFAULT_OUT})")
    p.add_argument("--system", help="experimental system, e.g. EMIM_BF4 (see --list)")
    p.add_argument("--list", action="store_true", help="list the systems with experimental data")
    p.add_argument("--out", type=Path, help="write the comparison as JSON")
    p.set_defaults(func=run)


def _predictions(path: Path, predictions_from_analysis) -> list:
    """The predictions in one analysis file; a missing, corrupt or foreign file is a clear error."""
    from ilforge.errors import CorruptFileError, IlforgeError

    if not path.is_file():
        raise IlforgeError(f"{path} not found; run `ilforge analyze` first (it writes {DEFAULT_OUT})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path} is corrupt or truncated ({exc}); rerun `ilforge analyze` to write it again") from None
    try:
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
            raise TypeError("no list of runs")
        return predictions_from_analysis(doc)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise CorruptFileError(f"{path} is not an analysis file of `ilforge analyze` ({type(exc).__name__}: {exc}); "
                               f"give the JSON that `ilforge analyze --out` wrote") from None


def run(args) -> int:
    from ilforge.errors import IlforgeError
    from ilforge.experiment.compare import compare, predictions_from_analysis
    from ilforge.experiment.reference import load_reference, systems

    if args.list:
        recs = load_reference()
        for s in systems():
            props = sorted({r.property for r in recs if r.system == s})
            print(f"{s}: {', '.join(props)}")
        return 0
    if not args.system:
        raise IlforgeError("give --system (one of: " + ", ".join(systems()) + ")")
    if args.system not in systems():
        raise IlforgeError(f"--system {args.system!r} has no experimental data; choose one of: {', '.join(systems())}")
    preds = []
    for f in args.results:
        preds += _predictions(f, predictions_from_analysis)
    rows = compare(args.system, preds)
    print(f"{'property':<22}{'T/K':>8}{'P/bar':>8}{'predicted':>14}{'experiment':>14}{'rel.err':>9}  source")
    for r in rows:
        pred = f"{r['predicted']:.4g}" + (f"±{r['predicted_err']:.1g}" if r.get("predicted_err") else "")
        exp = "-" if r["experiment"] is None else f"{r['experiment']:.4g}"
        rel = "-" if r["rel_error"] is None else f"{100 * r['rel_error']:+.1f}%"
        name = r["property"] + (f" ({r['label']})" if r.get("label") else "")
        T = "-" if r["T_K"] is None else f"{r['T_K']:.1f}"
        P = "-" if r["P_bar"] is None else f"{r['P_bar']:g}"
        print(f"{name:<22}{T:>8}{P:>8}{pred:>14}{exp:>14}{rel:>9}  {(r['citation'] or '')[:70]}")
        if r.get("note"):
            print(f"{'':<22}  ^ {r['note']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"system": args.system, "rows": rows}, indent=1))
    return 0
