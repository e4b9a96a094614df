"""Small helpers shared by the CLI modules: settings from flags, consoles, JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from tools.settings import Settings

console = Console()
err_console = Console(stderr=True)

HomeOption = typer.Option(None, "--home", help="Workspace directory (default: $SLEUTH_HOME or ./.sleuth).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def settings_from(home: Path | None = None, **overrides: Any) -> Settings:
    """Settings with CLI flags applied over environment and defaults (pydantic imported on use)."""
    from tools.settings import load_settings

    return load_settings(home=home, **overrides)


def print_json(obj: Any) -> None:
    """Print JSON to stdout without rich markup (for scripts)."""
    typer.echo(json.dumps(obj, indent=2, default=str))
