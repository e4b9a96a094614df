"""`sleuth data generate|load|stats`: make, load and inspect the exchange data.

Everything heavy (duckdb, numpy, the generator) is imported inside the commands so `sleuth --help`
stays fast. A load that fails validation prints one `file:row:column: message` line per problem
(first 20, then a count) on stderr and exits 2; the workspace is left unchanged.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import (
    HomeOption,
    JsonOption,
    console,
    fail_with_problems,
    print_json,
    progress_bar,
    rows_table,
    settings_from,
)
from tools.errors import InputInvalid

app = typer.Typer(name="data", help="Generate, load and inspect exchange data.", no_args_is_help=True)

GEN_STAGES = {"accounts": (0.0, 0.03), "scenarios": (0.03, 0.12), "transactions": (0.15, 0.65),
              "logins": (0.80, 0.08), "chain_transfers": (0.88, 0.06), "alerts": (0.94, 0.06)}
"""Where each generator stage sits on the overall progress bar: (start, width)."""


@app.command("load")
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
        fail_with_problems(e)
        return
    if json_out:
        print_json({"db_path": str(summary.db_path), "source": str(summary.source), "rows": summary.rows,
                    "files": summary.files, "ignored": summary.ignored, "seconds": round(summary.seconds, 2)})
        return
    console.print(f"loaded {folder} into {summary.db_path} in {summary.seconds:.1f} s", highlight=False)
    console.print(rows_table("rows", summary.rows))
    if summary.ignored:
        console.print(f"ignored (not contract tables): {', '.join(summary.ignored)}", highlight=False)


@app.command("generate")
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
    console.print(rows_table("rows", rows))
    mix = summary.get("alerts")
    if isinstance(mix, dict) and mix:
        console.print_json(data=mix)
    console.print(f"labels (never loaded): {Path(out) / 'cases.jsonl'}, {Path(out) / 'truth'}", highlight=False)


@app.command("stats")
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
    console.print(rows_table("rows", stats["rows"]))
    console.print(f"transactions from {stats['transactions_from']} to {stats['transactions_to']}; "
                  f"loaded {stats['loaded_at']} from {stats['source_dir']}", highlight=False)
    console.print(rows_table("alerts by rule", stats["alerts_by_rule"], ("rule", "alerts")))
    for key, title in (("transactions_by_kind", "kind"), ("transactions_by_asset", "asset")):
        console.print(rows_table(f"transactions by {title}",
                                  {k: f"{v['count']:,} / {v['usd']:,.0f} USD" for k, v in stats[key].items()},
                                  (title, "count / USD")))
    if "cases" in stats:
        console.print(rows_table(f"typology mix ({cases})", stats["cases"]["typology"], ("typology", "cases")))
        console.print(rows_table("dispositions", stats["cases"]["disposition"], ("disposition", "cases")))
