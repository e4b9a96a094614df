"""`report.html`: one self-contained file (inline CSS, inline JS, plots as base64 PNG).

Nothing is fetched from anywhere: the report is attached to tickets and opened offline, and an
external reference would also leak that a run happened. Links go only to case files inside the
run folder (relative paths). Text from the run (alert ids, errors, narratives) is escaped by
Jinja2's autoescape.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from evals.log import RunLog
from evals.plots import all_plots
from evals.report_data import report_context

TEMPLATES = Path(__file__).parent  # report.html.j2 sits next to this module (package data "*.j2")


def render_html(log: RunLog, links: dict[str, str] | None = None) -> str:
    """The HTML report of a run."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=False, lstrip_blocks=False)
    return env.get_template("report.html.j2").render(**report_context(log, links), plots=all_plots(log))
