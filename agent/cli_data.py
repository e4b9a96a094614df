"""`sleuth data generate|load|stats` and `sleuth alerts`."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Generate, load and inspect exchange data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Top-level commands that belong to the data layer (`sleuth alerts`)."""
