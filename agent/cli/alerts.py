"""`sleuth alerts`: the alert queue, filtered, oldest first (also printed by `sleuth demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agent.cli.common import HomeOption, JsonOption, console, print_json, rows_table, settings_from

app = typer.Typer()


@app.command("alerts")
def alerts_cmd(
    rule: str | None = typer.Option(None, "--rule", help="Only this rule id."),
    status: str | None = typer.Option(None, "--status", help="open or closed."),
    since: str | None = typer.Option(None, "--since", help="Created on or after (YYYY-MM-DD[THH:MM])."),
    until: str | None = typer.Option(None, "--until", help="Created on or before (a date includes that day)."),
    account: str | None = typer.Option(None, "--account", help="Only alerts on this account."),
    limit: int = typer.Option(20, "--limit", help="Most alerts to list."),
    home: Path | None = HomeOption,
    json_out: bool = JsonOption,
) -> None:
    """The alert queue: a summary (by rule, status, dates) and the oldest alerts first."""
    from tools.data.stats import AlertFilter, alert_queue, parse_when

    flt = AlertFilter(rule, status, parse_when(since), parse_when(until, end=True), account)
    queue = alert_queue(settings_from(home), flt, limit)
    if json_out:
        print_json(queue)
        return
    print_queue(queue, summary=not flt.any)


def print_queue(queue: dict[str, Any], summary: bool = True) -> None:
    """Print the queue summary (optional) and its first alerts as a table."""
    from rich.markup import escape
    from rich.table import Table

    if summary:
        console.print(f"{queue['total']:,} alerts from {queue['first']} to {queue['last']}", highlight=False)
        console.print(rows_table("by rule", queue["by_rule"], ("rule", "alerts")))
        console.print(rows_table("by status", queue["by_status"], ("status", "alerts")))
    shown = queue["alerts"]
    table = Table(title=f"{len(shown)} of {queue['total']:,} alerts", title_justify="left")
    for col in ("alert", "created", "account", "rule", "status", "description"):
        table.add_column(col, overflow="ellipsis", no_wrap=col != "description")
    for a in shown:
        desc = str(a.get("description") or "")
        table.add_row(escape(a["alert_id"]), str(a["created_at"]), escape(str(a["account_id"])),
                      escape(str(a["rule_id"])), a["status"], escape(desc[:80] + ("..." if len(desc) > 80 else "")))
    console.print(table)
