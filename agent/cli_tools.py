"""Investigation tools for humans: `sleuth sql`, `trace`, `screen`, `profile`."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli_common import HomeOption, JsonOption, console, print_json, settings_from


def register(app: typer.Typer) -> None:
    """Register the tool commands on the top-level app."""
    _register_sql(app)


# --- sleuth sql ---------------------------------------------------------------------------------

def _register_sql(app: typer.Typer) -> None:
    """`sleuth sql "SELECT ..."`: the agent's guarded SQL tool, for a human at the terminal."""

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
