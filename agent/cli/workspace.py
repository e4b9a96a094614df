"""`sleuth workspace ensure`: the embedded workspace (DuckDB database and playbook index), built when needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agent.cli.common import HomeOption, console, fail_with_problems, progress_bar, settings_from
from tools.errors import InputInvalid

app = typer.Typer(name="workspace", help="The embedded workspace (DuckDB database and indexes).", no_args_is_help=True)


@app.command("ensure")
def ensure_cmd(
    sample: Path | None = typer.Option(None, "--sample", help="Contract folder to load when the workspace is "
                                                              "missing (default: data_samples/sample)."),
    home: Path | None = HomeOption,
) -> None:
    """Build the workspace (data and playbook index) if missing or stale; quick and harmless when present."""
    settings = settings_from(home)
    result = ensure_data(settings, sample)
    if not result.created:
        console.print(f"workspace present: {result.db_path}", highlight=False)
    ensure_index(settings)


def ensure_index(settings: Any) -> None:
    """Embed the playbooks into the workspace index when it is missing or stale (incremental)."""
    from tools.playbooks.index import build_index

    with console.status("indexing playbooks ..."):
        report = build_index(settings)
    if report.changed or report.rebuilt:
        console.print(f"playbook index built: {report.chunks_total} chunks in {report.seconds:.1f} s", highlight=False)


def ensure_data(settings: Any, sample: Path | None) -> Any:
    """Build the workspace's database from `sample` when it is missing or stale, saying what was built."""
    from tools.data.workspace import ensure_workspace, workspace_exists

    try:
        if workspace_exists(settings):
            return ensure_workspace(settings, sample)
        with progress_bar("building the workspace") as update:
            result = ensure_workspace(settings, sample, update)
    except InputInvalid as e:
        fail_with_problems(e)
    assert result.summary is not None
    console.print(f"workspace built: {result.db_path} from {result.summary.source} "
                  f"({result.summary.rows.get('transactions', 0):,} transactions, "
                  f"{result.summary.rows.get('alerts', 0):,} alerts) in {result.summary.seconds:.1f} s",
                  highlight=False)
    return result
