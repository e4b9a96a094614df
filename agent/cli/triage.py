"""`sleuth triage`: the backlog in parallel with a progress bar and a summary table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer

from agent.cli.common import AsOption, HomeOption, batch_progress, console, settings_from

app = typer.Typer()


def summary_tables(records: list[dict[str, Any]]) -> list[Any]:
    """Rich tables: by disposition, by typology, by rule; time per case; failures."""
    from rich.table import Table

    from evals.scorers.base import quantile

    ok = [r for r in records if r["status"] == "ok"]
    failed = [r for r in records if r["status"] != "ok"]
    tables = []
    for title, key in (("By disposition", "disposition"), ("By typology", "typology"), ("By rule", "rule_id")):
        t = Table(title=title)
        t.add_column(key)
        t.add_column("alerts", justify="right")
        t.add_column("share", justify="right")
        for value, n in Counter(r.get(key) or "-" for r in ok).most_common():
            t.add_row(str(value), str(n), f"{n / max(1, len(ok)):.0%}")
        tables.append(t)
    secs = sorted(r["seconds"] for r in ok)
    t = Table(title="Run")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("finished", str(len(ok)))
    t.add_row("failed", str(len(failed)))
    if secs:
        t.add_row("seconds per case (mean)", f"{sum(secs) / len(secs):.3f}")
        t.add_row("seconds per case (p95)", f"{quantile(secs, 0.95):.3f}")  # the eval's interpolated p95
    t.add_row("pending approvals", str(sum(len(r.get("pending_approval") or []) for r in ok)))
    tables.append(t)
    if failed:
        f = Table(title="Failures (retried by --resume)")
        f.add_column("alert")
        f.add_column("reason")
        for r in failed[:10]:
            f.add_row(r["alert_id"], (r.get("error") or "")[:100])
        if len(failed) > 10:
            f.add_row("...", f"{len(failed) - 10} more")
        tables.append(f)
    return tables


@app.command("triage")
def triage(alerts: str = typer.Option("open", "--alerts", help="open, all, or a file of alert ids."),
           model: str | None = typer.Option(None, "--model", "-m", help="rules, learned, local or openai:<model>."),
           workers: int | None = typer.Option(None, "--workers", "-w", help="Parallel workers (default 2)."),
           out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (default <home>/triage)."),
           resume: bool = typer.Option(False, "--resume", help="Continue a run: skip finished alerts."),
           fresh: bool = typer.Option(False, "--fresh", help="Start over, discarding earlier results."),
           engine: str = typer.Option("local", "--engine", help="local (processes here) or ray (RAY_ADDRESS's "
                                                                "cluster, else a local Ray; docs/ray.md)."),
           as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Triage the alert backlog with the investigation graph (resumable, exactly once)."""
    triage_command(alerts, model, workers, out, resume, fresh, home, engine, as_name)


def triage_command(alerts: str, model: str | None, workers: int | None, out: Path | None, resume: bool, fresh: bool,
                   home: Path | None, engine: str = "local", as_name: str | None = None) -> dict[str, Any]:
    """The body of `sleuth triage` (also used by `sleuth demo`)."""
    from agent.triage import run_triage

    settings = settings_from(home, model=model, workers=workers, analyst=as_name)  # cases record who opened them
    model_name = settings.model
    n_workers = settings.workers
    if model_name != "rules" and n_workers > 1 and model_name == "local":
        console.print("[dim]local model: one worker (one model server)[/]")
        n_workers = 1
    out_dir = out or settings.home / "triage"
    counts: Counter[str] = Counter()
    with batch_progress("triage", pace=True) as bar:
        task = bar.add_task("triage", total=None, pace="", mix="")
        import time

        start = time.perf_counter()
        first: list[int] = []

        def on_result(rec: dict[str, Any], done: int, total: int) -> None:
            if not first:
                first.append(done - 1)
            counts[rec.get("disposition") or "failed"] += 1
            rate = (done - first[0]) / max(1e-9, time.perf_counter() - start)
            mix = " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
            bar.update(task, completed=done, total=total, pace=pace_text(rate), mix=mix)

        result = run_triage(settings, model_name, alerts, out_dir, n_workers, resume, fresh, on_result, engine=engine)
    for t in summary_tables(result["records"]):
        console.print(t)
    failed = [r for r in result["records"] if r["status"] != "ok"]
    rate = result["new"] / result["elapsed_s"] if result["elapsed_s"] > 0 else 0.0
    console.print(f"{result['new']} alerts triaged in {result['elapsed_s']:.1f} s ({pace_text(rate)}) with {model_name}, "
                  f"{result['skipped']} already done; results: {result['path']} and {result['parquet']}; "
                  f"case files: {settings.cases_dir}")
    case_html = _one_case_file(settings, result["records"], out_dir)
    if case_html:
        console.print(f"example HTML case file: {case_html}")
    if failed:
        console.print(f"[red]{len(failed)} alerts failed[/] (first: {failed[0]['alert_id']}: "
                      f"{(failed[0].get('error') or '')[:120]}); rerun with --resume to retry them", highlight=False)
        raise typer.Exit(1)
    return result


def _one_case_file(settings: Any, records: list[dict[str, Any]], out_dir: Path) -> Path | None:
    """Write the HTML case file of one SAR (or any finished case) so a human can open it."""
    from agent.casefile import render_html
    from agent.cli.cases import case_picture
    from agent.store import CaseStore

    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return None
    pick = next((r for r in ok if r.get("disposition") == "sar"), ok[0])
    report = CaseStore(settings).load(pick["alert_id"])
    path = out_dir / f"case-{pick['alert_id']}.html"
    path.write_text(render_html(report, case_picture(settings, report)), encoding="utf-8")
    return path


def pace_text(rate: float) -> str:
    """Alerts per second, or seconds per alert for a backend slower than one a second."""
    return f"{rate:.1f}/s" if rate >= 1 or rate == 0 else f"{1 / rate:.0f} s per alert"
