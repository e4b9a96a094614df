"""`sleuth trace ACCOUNT` (fund-flow trace with PNG/HTML pictures) and `sleuth bench tools`.

Imports of DuckDB, the graph tools and matplotlib stay inside the commands so `sleuth --help`
stays fast.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from agent.cli_common import HomeOption, JsonOption, console, print_json, settings_from
from tools.errors import InputInvalid


def _when(value: str | None, flag: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError as e:
        raise InputInvalid(f"{flag} {value!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from e


def register(app: typer.Typer) -> None:
    """Register `sleuth trace` on the top-level app."""

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


def register_bench(bench_app: typer.Typer) -> None:
    """Register `sleuth bench tools` on the bench group."""

    @bench_app.command("tools")
    def bench_tools_command(
        accounts: int = typer.Option(100, "--accounts", min=1, help="Alerted accounts to time each tool on."),
        as_json: bool = JsonOption,
        home: Path | None = HomeOption,
    ) -> None:
        """Latency (p50/p95) of profile, counterparties, 3-hop trace and 3-hop exposure per account."""
        from rich.table import Table

        from evals.bench_tools import run

        result = run(settings_from(home), n_accounts=accounts)
        if as_json:
            print_json(result)
            return
        table = Table(header_style="bold", caption=f"{result['accounts']} accounts, {result['transactions']:,} "
                      f"transactions, {result['flow_rows']:,} flow rows: {result['workspace']}; load average "
                      f"{result['load_average_1m']:.1f} on {result['cpus']} CPUs (wall times grow with it)")
        for name in ("tool", "p50 ms", "p95 ms", "max ms", "cpu p50", "cpu p95", "target p95", "meets"):
            table.add_column(name, justify="left" if name == "tool" else "right", no_wrap=True)
        for name, f in result["tools"].items():
            meets = "" if f["meets_target"] is None else ("yes" if f["meets_target"] else "NO")
            table.add_row(name, f"{f['p50_ms']:.1f}", f"{f['p95_ms']:.1f}", f"{f['max_ms']:.1f}",
                          f"{f['cpu_p50_ms']:.1f}", f"{f['cpu_p95_ms']:.1f}",
                          "" if f["target_p95_ms"] is None else f"{f['target_p95_ms']:.0f}", meets)
        console.print(table)
