"""Helpers shared by the command modules: settings from flags, consoles, JSON output, progress bars."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from tools.errors import InputInvalid
    from tools.settings import Settings

console = Console()
err_console = Console(stderr=True)

HomeOption = typer.Option(None, "--home", help="Workspace directory (default: $SLEUTH_HOME or ./.sleuth).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")
AsOption = typer.Option(None, "--as", help="Act as this user (default $SLEUTH_ANALYST, else the OS user); "
                                           "recorded with how it was given.")
PlaybooksDirOption = typer.Option(None, "--playbooks", help="Playbook directory (default: the repository's playbooks/).")


def settings_from(home: Path | None = None, **overrides: Any) -> Settings:
    """Settings with CLI flags applied over environment and defaults (pydantic imported on use)."""
    from tools.settings import load_settings

    return load_settings(home=home, **overrides)


def print_json(obj: Any) -> None:
    """Print JSON to stdout without rich markup (for scripts)."""
    typer.echo(json.dumps(obj, indent=2, default=str))


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


def batch_progress(label: str, *, pace: bool = False) -> Progress:
    """The bar of a batch run (triage, eval): done/total, elapsed, eta and a live mix of outcomes.

    Its tasks carry a `mix` field (and `pace`, when asked for) that the run's callback updates.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    pace_column = [TextColumn("{task.fields[pace]}")] if pace else []
    return Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), *pace_column,
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[mix]}"),
                    console=console)


def fail_with_problems(err: InputInvalid) -> NoReturn:
    """Print a validation failure as plain lines (no markup: values come from user files); exit 2."""
    lines = str(err).splitlines()
    typer.echo(f"error: {lines[0]}", err=True)
    for line in lines[1:]:
        typer.echo(line, err=True)
    raise typer.Exit(err.exit_code)


def rows_table(title: str, rows: dict[str, Any], header: tuple[str, str] = ("table", "rows")) -> Any:
    """A two-column rich table (name, count) with thousands separators."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(header[0])
    table.add_column(header[1], justify="right")
    for k, v in rows.items():
        table.add_row(str(k), f"{v:,}" if isinstance(v, int) else str(v))
    return table
