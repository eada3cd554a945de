"""`ilforge report`: (re)write the HTML report of a project directory."""

from __future__ import annotations

VERB = "report"
ORDER = 90
HELP = "write WORKDIR/report.html from the project's results (self-contained, plots embedded)"


def register(p) -> None:
    p.add_argument("workdir", help="project directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.report.build import write_report

    print(f"report: {write_report(args.workdir)}")
    return 0
