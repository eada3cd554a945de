"""`ilforge report`: (re)write the HTML report of a project directory."""

from __future__ import annotations

VERB = "report"
ORDER = 90
HELP = "write WORKDIR/report.html from the project's results (self-contained, plots embedded)"


def register(p) -> None:
    p.add_argument("workdir", help="project directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from ilforge.project import Project
    from ilforge.recipe import load_recipe
    from ilforge.report.stage import run_report

    project = Project.open(args.workdir)
    print(f"report: {run_report(project, load_recipe(project.recipe_copy)).path}")
    return 0
