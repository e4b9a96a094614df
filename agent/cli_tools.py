"""Investigation tools for humans: `sleuth sql`, `trace`, `screen`, `profile`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the tool commands on the top-level app."""
