"""`sleuth profile ACCOUNT` and `sleuth screen ADDRESS...`: the profile and screening tools for humans.

The commands print what the agent sees (the evidence summary, rows and facts) as rich tables, or the
evidence as JSON with `--json`. DuckDB and the tools are imported inside the commands so
`sleuth --help` stays fast.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli_common import HomeOption, JsonOption, console, print_json, settings_from

if TYPE_CHECKING:
    from tools.evidence import Evidence


def parse_as_of(text: str) -> dt.datetime:
    """An ISO date or date-time (`2026-10-01`, `2026-10-01T12:00`, `2026-10-01 12:00:00+02:00`)."""
    from tools.errors import InputInvalid

    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise InputInvalid(f"--as-of {text!r} is not an ISO date or date-time (e.g. 2026-10-01T12:00)") from e


def show_evidence(ev: Evidence, facts: bool = True) -> None:
    """The summary, the rows as a table and the facts as a compact grid."""
    from rich.table import Table

    console.print(f"[bold]{ev.id}[/] {ev.summary}", highlight=False, soft_wrap=True)
    if ev.rows:
        table = Table(*ev.columns, show_lines=False, header_style="bold cyan")
        for row in ev.rows:
            table.add_row(*("" if c is None else str(c) for c in row))
        console.print(table)
    if facts and ev.facts:
        grid = Table("fact", "value", "fact", "value", header_style="bold cyan", show_edge=False)
        items = list(ev.facts.items())
        half = (len(items) + 1) // 2
        for left, right in zip(items[:half], items[half:] + [("", "")], strict=False):
            grid.add_row(left[0], str(left[1]), right[0], str(right[1]))
        console.print(grid)


def register(app: typer.Typer) -> None:
    """Add `profile` and `screen` to the top-level app."""

    @app.command()
    def profile(
        account_id: str = typer.Argument(..., help="Account id, e.g. ACC-000123."),
        as_of: str | None = typer.Option(None, "--as-of", help="End of the window (ISO date-time; default now)."),
        alert: str | None = typer.Option(None, "--alert", help="Use this alert's creation time as the end."),
        window_days: int | None = typer.Option(None, "--window-days", min=1, help="Window length (default 30)."),
        json_out: bool = JsonOption,
        home: Path | None = HomeOption,
    ) -> None:
        """Account profile: KYC, baseline vs alert window, logins, P2P, prior alerts, withdrawals."""
        from tools.alerts import alert_context
        from tools.db import Database
        from tools.errors import InputInvalid
        from tools.evidence import EvidenceLedger
        from tools.profile import profile as run_profile

        if as_of and alert:
            raise InputInvalid("give --as-of or --alert, not both")
        settings = settings_from(home)
        days = window_days or settings.window_days
        with Database.open(settings) as db:
            end = parse_as_of(as_of) if as_of else None
            if alert:
                ctx = alert_context(db, alert, days)
                if ctx.account_id != account_id:
                    raise InputInvalid(f"alert {alert} is about {ctx.account_id}, not {account_id}")
                end = ctx.created_at
            ev = run_profile(db, EvidenceLedger(settings.evidence_row_cap), account_id, end, days, alert_id=alert)
        if json_out:
            print_json(ev.model_dump())
            return
        show_evidence(ev)

    @app.command()
    def screen(
        addresses: list[str] = typer.Argument(..., help="On-chain addresses to screen."),
        json_out: bool = JsonOption,
        home: Path | None = HomeOption,
    ) -> None:
        """Screen addresses against the labelled lists; every hit names its list and snapshot date."""
        from tools.db import Database
        from tools.evidence import EvidenceLedger
        from tools.screening import screen as run_screen

        settings = settings_from(home)
        with Database.open(settings) as db:
            ev = run_screen(db, EvidenceLedger(settings.evidence_row_cap), addresses)
        if json_out:
            print_json(ev.model_dump())
            return
        show_evidence(ev)
