"""`sleuth data generate|load|stats`, `sleuth alerts`, `sleuth workspace ensure`, `sleuth demo`, `sleuth bench data`.

Everything heavy (duckdb, numpy, the generator) is imported inside the commands so `sleuth --help`
stays fast. A load that fails validation prints one `file:row:column: message` line per problem
(first 20, then a count) on stderr and exits 2; the workspace is left unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from agent.cli_common import HomeOption, JsonOption, console, print_json, settings_from
from tools.errors import InputInvalid

data_app = typer.Typer(help="Generate, load and inspect exchange data.", no_args_is_help=True)
workspace_app = typer.Typer(help="The embedded workspace (DuckDB database and indexes).", no_args_is_help=True)

GEN_STAGES = {"accounts": (0.0, 0.03), "scenarios": (0.03, 0.12), "transactions": (0.15, 0.65),
              "logins": (0.80, 0.08), "chain_transfers": (0.88, 0.06), "alerts": (0.94, 0.06)}
"""Where each generator stage sits on the overall progress bar: (start, width)."""


@contextmanager
def progress_bar(title: str, stages: dict[str, tuple[float, float]] | None = None) -> Iterator[
        Callable[[str, float], None]]:
    """A rich progress bar fed by `progress(stage, fraction)` callbacks (hidden when not a terminal)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(title, total=1.0)

        def update(stage: str, fraction: float) -> None:
            start, width = (stages or {}).get(stage, (None, None))
            done = start + width * fraction if start is not None and width is not None else fraction
            bar.update(task, description=f"{title}: {stage}", completed=max(0.0, min(1.0, done)))

        yield update


def _fail_with_problems(err: InputInvalid) -> None:
    """Print a validation failure as plain lines (no markup: values come from user files); exit 2."""
    lines = str(err).splitlines()
    typer.echo(f"error: {lines[0]}", err=True)
    for line in lines[1:]:
        typer.echo(line, err=True)
    raise typer.Exit(err.exit_code)


def _rows_table(title: str, rows: dict[str, Any], header: tuple[str, str] = ("table", "rows")) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(header[0])
    table.add_column(header[1], justify="right")
    for k, v in rows.items():
        table.add_row(str(k), f"{v:,}" if isinstance(v, int) else str(v))
    return table


@data_app.command("load")
def load_cmd(
    folder: Path = typer.Argument(..., help="Folder with <table>.csv or <table>.parquet files (tools/schema.py)."),
    home: Path | None = HomeOption,
    json_out: bool = JsonOption,
) -> None:
    """Validate a contract folder and make it the workspace (atomic: nothing changes on error).

    Problems are reported as file:row:column: message. Row = the line in a CSV file as an editor
    shows it (header = line 1, first data row = line 2), or the 1-based row of a Parquet file.
    """
    from tools.data.load import load_folder

    settings = settings_from(home)
    try:
        if json_out:
            summary = load_folder(folder, settings)
        else:
            with progress_bar("loading") as update:
                summary = load_folder(folder, settings, update)
    except InputInvalid as e:
        _fail_with_problems(e)
        return
    if json_out:
        print_json({"db_path": str(summary.db_path), "source": str(summary.source), "rows": summary.rows,
                    "files": summary.files, "ignored": summary.ignored, "seconds": round(summary.seconds, 2)})
        return
    console.print(f"loaded {folder} into {summary.db_path} in {summary.seconds:.1f} s", highlight=False)
    console.print(_rows_table("rows", summary.rows))
    if summary.ignored:
        console.print(f"ignored (not contract tables): {', '.join(summary.ignored)}", highlight=False)


@data_app.command("generate")
def generate_cmd(
    out: Path = typer.Option(..., "--out", help="Folder to write the contract files and labels into."),
    accounts: int = typer.Option(2000, "--accounts", help="Number of customer accounts."),
    days: int = typer.Option(365, "--days", help="Days of activity, ending 2026-10-31."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same files)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    alerts: int | None = typer.Option(None, "--alerts", help="Number of alerts (default: about accounts/4)."),
    world: str = typer.Option("default", "--world", help="World (docs/worlds.md): default, generic, small, "
                              "graphs, lagoon, random (drawn from --seed) or a .json file of parameters."),
    json_out: bool = JsonOption,
) -> None:
    """Generate synthetic exchange data with planted, labelled typologies (docs/data-spec.md, docs/worlds.md)."""
    from evals.synth import generate
    from evals.synth.worlds import resolve

    if fmt not in ("parquet", "csv"):
        raise InputInvalid(f"--format must be parquet or csv, not {fmt!r}")
    try:
        params = resolve(world, seed)
        if json_out:
            summary = generate(out, accounts, days, seed, fmt, alerts, None, world=params)
        else:
            with progress_bar("generating", GEN_STAGES) as update:
                summary = generate(out, accounts, days, seed, fmt, alerts, update, world=params)
    except ValueError as e:
        raise InputInvalid(str(e)) from e
    if json_out:
        print_json(summary)
        return
    rows = summary.get("rows", {})
    console.print(f"generated {out} ({fmt}, seed {seed}, world {params.name}) in {summary.get('seconds', 0)} s",
                  highlight=False)
    console.print(_rows_table("rows", rows))
    mix = summary.get("alerts")
    if isinstance(mix, dict) and mix:
        console.print_json(data=mix)
    console.print(f"labels (never loaded): {Path(out) / 'cases.jsonl'}, {Path(out) / 'truth'}", highlight=False)


@data_app.command("stats")
def stats_cmd(
    home: Path | None = HomeOption,
    cases: Path | None = typer.Option(None, "--cases", help="A cases.jsonl to show the typology mix from."),
    json_out: bool = JsonOption,
) -> None:
    """Row counts, date range, alerts by rule, transactions by kind and asset."""
    from tools.data.stats import typology_mix, workspace_stats

    stats = workspace_stats(settings_from(home))
    if cases is not None:
        stats["cases"] = typology_mix(cases)
    if json_out:
        print_json(stats)
        return
    console.print(_rows_table("rows", stats["rows"]))
    console.print(f"transactions from {stats['transactions_from']} to {stats['transactions_to']}; "
                  f"loaded {stats['loaded_at']} from {stats['source_dir']}", highlight=False)
    console.print(_rows_table("alerts by rule", stats["alerts_by_rule"], ("rule", "alerts")))
    for key, title in (("transactions_by_kind", "kind"), ("transactions_by_asset", "asset")):
        console.print(_rows_table(f"transactions by {title}",
                                  {k: f"{v['count']:,} / {v['usd']:,.0f} USD" for k, v in stats[key].items()},
                                  (title, "count / USD")))
    if "cases" in stats:
        console.print(_rows_table(f"typology mix ({cases})", stats["cases"]["typology"], ("typology", "cases")))
        console.print(_rows_table("dispositions", stats["cases"]["disposition"], ("disposition", "cases")))


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
        console.print(_rows_table("by rule", queue["by_rule"], ("rule", "alerts")))
        console.print(_rows_table("by status", queue["by_status"], ("status", "alerts")))
    shown = queue["alerts"]
    table = Table(title=f"{len(shown)} of {queue['total']:,} alerts", title_justify="left")
    for col in ("alert", "created", "account", "rule", "status", "description"):
        table.add_column(col, overflow="ellipsis", no_wrap=col != "description")
    for a in shown:
        desc = str(a.get("description") or "")
        table.add_row(escape(a["alert_id"]), str(a["created_at"]), escape(str(a["account_id"])),
                      escape(str(a["rule_id"])), a["status"], escape(desc[:80] + ("..." if len(desc) > 80 else "")))
    console.print(table)


@workspace_app.command("ensure")
def ensure_cmd(
    sample: Path | None = typer.Option(None, "--sample", help="Contract folder to load when the workspace is "
                                                              "missing (default: data_samples/sample)."),
    home: Path | None = HomeOption,
) -> None:
    """Build the workspace (data and playbook index) if missing or stale; quick and harmless when present."""
    settings = settings_from(home)
    result = _ensure(settings, sample)
    if not result.created:
        console.print(f"workspace present: {result.db_path}", highlight=False)
    _ensure_index(settings)


def _ensure_index(settings: Any) -> None:
    """Embed the playbooks into the workspace index when it is missing or stale (incremental)."""
    from tools.playbooks.index import build_index

    with console.status("indexing playbooks ..."):
        report = build_index(settings)
    if report.changed or report.rebuilt:
        console.print(f"playbook index built: {report.chunks_total} chunks in {report.seconds:.1f} s", highlight=False)


def _ensure(settings: Any, sample: Path | None) -> Any:
    from tools.data.workspace import ensure_workspace, workspace_exists

    try:
        if workspace_exists(settings):
            return ensure_workspace(settings, sample)
        with progress_bar("building the workspace") as update:
            result = ensure_workspace(settings, sample, update)
    except InputInvalid as e:
        _fail_with_problems(e)
    assert result.summary is not None
    console.print(f"workspace built: {result.db_path} from {result.summary.source} "
                  f"({result.summary.rows.get('transactions', 0):,} transactions, "
                  f"{result.summary.rows.get('alerts', 0):,} alerts) in {result.summary.seconds:.1f} s",
                  highlight=False)
    return result


def demo_cmd(home: Path | None = HomeOption) -> None:
    """Set up the workspace from the sample, then triage the whole backlog with the rules backend."""
    from agent.cli_triage import triage_command
    from tools.data.stats import AlertFilter, alert_queue

    settings = settings_from(home)
    _ensure(settings, None)
    _ensure_index(settings)
    print_queue(alert_queue(settings, AlertFilter(), 5))
    triage_command("all", "rules", None, None, resume=False, fresh=True, home=home)


def bench_data_cmd(
    transactions: int = typer.Option(10_000_000, "--transactions", help="Target number of transactions."),
    out: Path | None = typer.Option(None, "--out", help="Keep the generated data and workspace here "
                                                        "(default: a temporary folder, removed after)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    json_out: bool = JsonOption,
) -> None:
    """Generate then load N transactions; report rows/s, elapsed and peak memory of each step."""
    from evals.bench_data import format_report, run_bench

    result = run_bench(transactions, out, fmt, log=None if json_out else console.print)
    if json_out:
        print_json(result)
    else:
        console.print(format_report(result), highlight=False)


def register(app: typer.Typer) -> None:
    """Top-level commands of the data layer: `alerts`, `workspace`, `demo`, and `bench data`.

    `bench data` is attached to the bench group here so the benchmark lives with the data code.
    """
    from agent.cli_bench import bench_app

    app.command("alerts")(alerts_cmd)
    app.command("demo")(demo_cmd)
    app.add_typer(workspace_app, name="workspace")
    bench_app.command("data")(bench_data_cmd)
