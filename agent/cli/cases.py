"""`sleuth investigate`, `sleuth report` and `sleuth replay`: one alert, its case file, its replay.

`show_report` and `case_picture` are shared with `sleuth triage` and the chat terminal.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import AsOption, HomeOption, JsonOption, console, settings_from

app = typer.Typer()

ModelOption = typer.Option(None, "--model", "-m", help="rules, learned, local or openai:<model> (default $SLEUTH_MODEL or rules).")


@app.command("investigate")
def investigate(alert_id: str = typer.Argument(..., help="Alert id, e.g. ALT-00012."),
                model: str | None = ModelOption, json_out: bool = JsonOption, as_name: str | None = AsOption,
                home: Path | None = HomeOption) -> None:
    """Investigate one alert: decision, cited narrative and recommended actions."""
    from agent.runner import Investigator

    settings = settings_from(home, model=model, analyst=as_name)
    with Investigator(settings) as inv:
        report = inv.investigate(alert_id)
    if json_out:
        typer.echo(report.model_dump_json(indent=2))
        return
    show_report(report)

@app.command("report")
def report(case_id: str = typer.Argument(..., help="Case id (the alert id)."),
           format: str = typer.Option("md", "--format", "-f", help="md or html."),
           out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
           home: Path | None = HomeOption) -> None:
    """Write the case file (Markdown or HTML) of an investigated alert."""
    from agent.casefile import render_html, render_markdown
    from agent.store import CaseStore
    from tools.errors import InputInvalid

    if format not in ("md", "html"):
        raise InputInvalid(f"unknown format {format!r}: use md or html")
    rep = CaseStore(settings_from(home)).load(case_id)
    text = render_markdown(rep) if format == "md" else render_html(rep, case_picture(settings_from(home), rep))
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")

@app.command("replay")
def replay(case_id: str = typer.Argument(..., help="Case id recorded with the rules backend."),
           home: Path | None = HomeOption) -> None:
    """Re-run a rules case and show any difference from what was recorded."""
    from agent.replay import replay_case

    diffs = replay_case(settings_from(home), case_id)
    if not diffs:
        console.print(f"[green]replay of {case_id}: identical[/] (decision, narrative, actions, evidence)")
        return
    for d in diffs:
        console.print(f"[yellow]-[/] {d}", highlight=False)
    raise typer.Exit(1)


def case_picture(settings, report) -> str | None:  # type: ignore[no-untyped-def]
    """A base64 PNG of the subject's fund flow for the HTML case file (None when nothing moved)."""
    from agent.pictures import case_picture_b64
    from tools.db import Database

    with Database.open(settings) as db:
        return case_picture_b64(db, report.alert["account_id"], report.alert.get("created_at"))


def show_report(report, out=None) -> None:  # type: ignore[no-untyped-def]
    """Print a case report with rich (to `out`, default the CLI console): decision, narrative, actions, evidence."""
    from rich.panel import Panel
    from rich.table import Table

    con = out or console
    d = report.decision
    colour = {"sar": "red", "escalate": "yellow", "close": "green"}[d.disposition]
    con.print(Panel(f"[bold {colour}]{d.disposition.upper()}[/]  typology [bold]{d.typology}[/]  "
                    f"risk {d.risk_score}/100\n{d.rationale}", title=f"Case {report.case_id}", expand=False))
    con.print(Panel(report.narrative or "(no narrative)", title="Narrative", expand=False))
    v = report.verification
    con.print(f"grounding: {v.claims_supported}/{v.claims_checked} claims supported"
              + (f", {len(v.unsupported)} removed" if v.unsupported else ""))
    t = Table(title="Recommended actions")
    for col in ("#", "action", "status", "reason"):
        t.add_column(col)
    for a in report.actions:
        t.add_row(str(a.index), a.action, a.status, a.reason)
    con.print(t)
    ev = Table(title="Evidence")
    for col in ("id", "tool", "summary"):
        ev.add_column(col)
    for e in report.evidence:
        ev.add_row(e.id, e.tool, (e.error or e.summary)[:110])
    con.print(ev)
    total = report.timings_ms.get("total")
    con.print(f"[dim]model {report.model}; {total:.0f} ms; tokens {sum(report.tokens.values())}[/]"
              if total else f"[dim]model {report.model}[/]")
