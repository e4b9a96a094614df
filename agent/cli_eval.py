"""`sleuth eval ...`: retrieval eval, eval runs, comparisons and the CI gate."""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Score Sleuth against labelled cases.", no_args_is_help=True)
