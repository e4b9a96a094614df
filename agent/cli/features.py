"""`sleuth features build|list`: the feature store's vectors to Parquet, and its documented definitions.

duckdb and pyarrow are imported inside the commands (through `tools.features.build`), so
`sleuth --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, JsonOption, console, print_json, settings_from

app = typer.Typer(name="features", help="Feature store: build feature vectors, list the definitions.",
                  no_args_is_help=True)


def _alert_ids(settings: object, which: str) -> list[str] | None:
    """None for every alert, else the ids of `open`, a file (as triage reads it) or `ID,ID,...`."""
    from agent.triage import select_alerts
    from tools.errors import InputInvalid

    if which == "all":
        return None
    if which == "open" or Path(which).exists():
        return [a for a, _ in select_alerts(settings, which)]  # type: ignore[arg-type]
    ids = [a.strip() for a in which.split(",") if a.strip()]
    if not ids:
        raise InputInvalid("--alerts must be open, all, a file of alert ids or ID,ID,...")
    known = {a for a, _ in select_alerts(settings, "all")}  # type: ignore[arg-type]
    unknown = [a for a in ids if a not in known]
    if unknown:
        raise InputInvalid(f"--alerts: {len(unknown)} unknown alert id(s) and no such file, e.g. {unknown[0]!r}")
    return list(dict.fromkeys(ids))


@app.command("build")
def build(alerts: str = typer.Option("all", "--alerts", help="all, open, a file of alert ids, or ID,ID,..."),
          out: Path | None = typer.Option(None, "--out", help="Parquet file (default: <home>/features/features.parquet)."),
          home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """Compute the feature vector of every selected alert in one pass and write it to Parquet."""
    from tools.features.build import build_features, default_output

    settings = settings_from(home)
    ids = _alert_ids(settings, alerts)
    summary, _ = build_features(settings, ids, out or default_output(settings))
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(f"{summary.alerts:,} alerts x {summary.features} features in {summary.seconds:.1f} s "
                  f"(jurisdiction {summary.jurisdiction}, window {summary.window_days} days, "
                  f"feature set {summary.digest}) -> {summary.out}", highlight=False)
    from rich.table import Table

    table = Table("feature", "alerts not at default", "NULL", title="features that vary most", title_justify="left")
    ranked = sorted(summary.nonzero.items(), key=lambda kv: -kv[1])
    for name, n in ranked[:15]:
        table.add_row(name, f"{n:,}", f"{summary.nulls.get(name, 0):,}")
    console.print(table)
    flat = [n for n, k in summary.nonzero.items() if k == 0]
    if flat:
        console.print(f"{len(flat)} features at their default for every alert: {', '.join(flat[:10])}"
                      + (" ..." if len(flat) > 10 else ""), highlight=False)


@app.command("list")
def list_features(as_json: bool = JsonOption) -> None:
    """The documented feature definitions (docs/features.md), in vector order."""
    from tools.features import FEATURES

    if as_json:
        print_json([{"name": f.name, "group": f.group, "unit": f.unit, "description": f.description,
                     "default": f.default, "null_when": f.null_when or None} for f in FEATURES])
        return
    from rich.table import Table

    table = Table("feature", "group", "unit", "definition", "NULL when", show_lines=False)
    for f in FEATURES:
        table.add_row(f.name, f.group, f.unit, f.description, f.null_when or "-")
    console.print(table)
