"""Investigation tools for humans: `sleuth sql`, `trace`, `profile`, `screen`.

Each prints what the agent's tool of the same name sees (the evidence summary, rows and facts) as rich
tables, or JSON with `--json`. DuckDB, sqlglot, the graph tools and matplotlib are imported inside the
commands so `sleuth --help` stays fast (tests/test_sql_guard.py checks that importing this module loads
no database library).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli.common import HomeOption, JsonOption, console, print_json, settings_from
from tools.errors import InputInvalid

if TYPE_CHECKING:
    from tools.evidence import Evidence

app = typer.Typer()


def _when(value: str | None, flag: str) -> dt.datetime | None:
    """An optional `--since`/`--until` date (None when not given)."""
    return None if value is None else parse_as_of(value, flag, "a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")


def parse_as_of(text: str, flag: str = "--as-of",
                expected: str = "an ISO date or date-time (e.g. 2026-10-01T12:00)") -> dt.datetime:
    """An ISO date or date-time (`2026-10-01`, `2026-10-01T12:00`, `2026-10-01 12:00:00+02:00`);
    anything else is an InputInvalid naming the flag and what it expected."""
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise InputInvalid(f"{flag} {text!r} is not {expected}") from e


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


@app.command("sql")
def sql_command(
    query: str = typer.Argument(..., help="One read-only SELECT or WITH query over the workspace tables."),
    as_json: bool = JsonOption,
    home: Path | None = HomeOption,
    limit: int | None = typer.Option(None, "--limit", min=1, help="Most rows to fetch (default: sql_row_cap)."),
) -> None:
    """Run one read-only SELECT on the workspace, guarded exactly like the agent's sql tool."""
    from rich.table import Table
    from rich.text import Text

    from tools.db import Database
    from tools.evidence import jsonable
    from tools.sql import guarded_query

    settings = settings_from(home)
    with Database.open(settings) as db:
        res = guarded_query(db, query, row_cap=limit or settings.sql_row_cap)
    if as_json:
        print_json({"query": res.query, "columns": res.columns, "rows": [jsonable(list(r)) for r in res.rows],
                    "row_count": len(res.rows), "truncated": res.truncated, "elapsed_ms": round(res.elapsed_ms, 2)})
        return
    table = Table(show_lines=False, header_style="bold")
    for name in res.columns:
        table.add_column(Text(name))
    for row in res.rows:
        # Text(), not markup: cells hold untrusted memos and chats that may contain [brackets].
        table.add_row(*(Text("NULL", style="dim") if v is None else Text(str(jsonable(v))) for v in row))
    cut = f", cut at {res.row_cap}; narrow it or raise --limit" if res.truncated else ""
    table.caption = f"{len(res.rows)} row{'' if len(res.rows) == 1 else 's'}{cut} ({res.elapsed_ms:.1f} ms)"
    console.print(table)


@app.command("trace")
def trace_command(
    account: str = typer.Argument(..., help="Account id or on-chain address to trace from."),
    hops: int = typer.Option(3, "--hops", min=1, max=6, help="How many hops to follow (1-6)."),
    direction: str = typer.Option("out", "--direction", help="out = where funds went, in = where they came "
                                  "from, both."),
    since: str | None = typer.Option(None, "--since", help="Earliest movement (default: 30 days before the "
                                     "account's latest alert)."),
    until: str | None = typer.Option(None, "--until", help="Latest movement (default: 7 days after the account's latest alert)."),
    min_usd: float = typer.Option(0.0, "--min-usd", min=0, help="Ignore movements below this USD value."),
    asset: str | None = typer.Option(None, "--asset", help="Follow only this asset (BTC, USDT, USD, ...)."),
    per_hop: int = typer.Option(15, "--per-hop", min=1, max=200, help="Largest counterparties kept per hop."),
    png: Path | None = typer.Option(None, "--png", help="Write the fund-flow picture as PNG here."),
    html_out: Path | None = typer.Option(None, "--html", help="Write an interactive HTML picture here."),
    as_json: bool = JsonOption,
    home: Path | None = HomeOption,
) -> None:
    """Trace funds from an account or address across transfers, deposits, withdrawals and on-chain hops."""
    from rich.table import Table
    from rich.text import Text

    from tools.db import Database
    from tools.evidence import EvidenceLedger
    from tools.graph.trace import trace_with_graph

    if direction not in ("in", "out", "both"):
        raise InputInvalid(f"--direction must be in, out or both, not {direction!r}")
    settings = settings_from(home)
    with Database.open(settings) as db:
        ev, walk = trace_with_graph(db, EvidenceLedger(), account, direction, hops, _when(since, "--since"),
                                    _when(until, "--until"), min_usd, asset, max_nodes_per_hop=per_hop)
    written = []
    if png is not None or html_out is not None:
        from tools.graph.picture import render_html, render_png

        if png is not None:
            written.append(str(render_png(walk, png)))
        if html_out is not None:
            written.append(str(render_html(walk, html_out)))
    if as_json:
        print_json({**ev.model_dump(mode="json"), "pictures": written})
        return
    table = Table(header_style="bold", caption=f"{ev.row_count} edges ({ev.elapsed_ms:.0f} ms)")
    for name in ("hop", "src", "dst", "amount_usd", "txns", "first_ts", "last_ts", "label"):
        table.add_column(name, justify="right" if name in ("hop", "amount_usd", "txns") else "left",
                         overflow="fold", no_wrap=name in ("hop", "amount_usd", "txns"))
    idx = {c: i for i, c in enumerate(ev.columns)}
    for row in ev.rows:
        cells = [row[idx["hop"]], row[idx["src"]], row[idx["dst"]], f"{row[idx['amount_usd']]:,.2f}",
                 row[idx["txns"]], row[idx["first_ts"]], row[idx["last_ts"]], row[idx["label"]]]
        table.add_row(*(Text(str(c)) for c in cells))
    console.print(Text(ev.summary))
    if ev.rows:
        console.print(table)
    for path in written:
        console.print(Text(f"wrote {path}"))


@app.command("profile")
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

@app.command("screen")
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
