"""Write a run's files: run.json, report.md, report.html and the worst cases' case files.

The log goes first, so if a report cannot be drawn the run is not lost (`sleuth eval report RUN`
redraws from run.json). Case files are written for the cases the report lists as worst: the
agent's own case-file renderer (`agent.casefile.render_html`) when it is installed, otherwise the
report JSON; the reports link whichever exists.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from agent.store import atomic_write
from evals.log import RunLog
from evals.worst import worst_cases

WORST_N = 15


def _safe(name: str) -> str:
    return "".join(ch for ch in name if ch.isalnum() or ch in "-_.") or "case"


def write_case_files(log: RunLog, run_dir: Path, n: int = WORST_N) -> dict[str, str]:
    """Case files of the worst cases under `cases/`; alert id -> relative link."""
    casefile = None
    if importlib.util.find_spec("agent.casefile") is not None:
        from agent import casefile  # written by the case-file renderer; optional here

    by_id = {c.alert_id: c for c in log.cases}
    links: dict[str, str] = {}
    for finding in worst_cases(log.cases, n):
        report = by_id[finding.alert_id].report
        if report is None:
            continue
        stem = _safe(finding.alert_id)
        atomic_write(run_dir / "cases" / f"{stem}.json", report.model_dump_json(indent=1))
        links[finding.alert_id] = f"cases/{stem}.json"
        if casefile is not None:
            atomic_write(run_dir / "cases" / f"{stem}.html", casefile.render_html(report))
            links[finding.alert_id] = f"cases/{stem}.html"
    return links


def write_reports(log: RunLog, run_dir: Path) -> None:
    """report.md and report.html (and the case files they link) from a run log."""
    from evals.report_html import render_html
    from evals.report_md import render_markdown

    links = write_case_files(log, run_dir)
    atomic_write(run_dir / "report.md", render_markdown(log, links))
    atomic_write(run_dir / "report.html", render_html(log, links))


def write_outputs(log: RunLog, run_dir: Path) -> None:
    """run.json, then the reports."""
    atomic_write(run_dir / "run.json", log.model_dump_json(indent=1))
    write_reports(log, run_dir)
