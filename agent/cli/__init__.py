"""The `sleuth` command line: typer + rich, one module per command group.

How a command group is registered (the one way; follow it for new commands):

1. Write `agent/cli/<group>.py` with a module-level `app = typer.Typer(...)` and its commands
   (`@app.command("name")`):
   - `app = typer.Typer(name="features", help="...", no_args_is_help=True)` makes a group:
     `sleuth features build`, `sleuth features list`, ...
   - `app = typer.Typer()` without a name puts its commands at the top level (`sleuth triage`);
     one such module holds a few related top-level commands.
2. Import the module below and add it to `COMMAND_MODULES` (the order is the order in `sleuth --help`).

A command that belongs to a group lives in that group's module, whatever code it drives: every
benchmark is in `bench.py`, every `sleuth eval ...` (retrieval among them) in `eval.py`. Shared flags,
consoles and settings come from `agent/cli/common.py`.

Keep `sleuth --help` fast (median under 0.5 s): a command module imports only typer, rich's console
and `agent.cli.common` at the top; duckdb, chromadb, torch, langgraph, numpy and the project's own heavy
modules are imported inside the command functions. tests/test_cli_package.py checks both rules.
User-caused errors (`SleuthError`) become one red line and an exit code in `main`, at the boundary,
and nowhere else.
"""

from __future__ import annotations

import os
import sys

import typer

from agent.cli import (
    actions,
    alerts,
    audit,
    bench,
    cases,
    chat,
    data,
    demo,
    eval,
    features,
    filing,
    index,
    model,
    playbooks,
    requests,
    tools,
    triage,
    workspace,
)
from tools.errors import SleuthError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

COMMAND_MODULES = (
    # top-level commands
    alerts, demo, tools, cases, filing, triage, chat, index,
    # groups: sleuth <group> <command>
    data, eval, features, model, bench, workspace, playbooks, actions, requests, audit,
)
"""Every command module; each contributes its `app` (a named group, or top-level commands)."""

app = typer.Typer(
    name="sleuth",
    help="Fraud and AML investigations for a crypto exchange: data, tools, agent, triage and evals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for _module in COMMAND_MODULES:
    app.add_typer(_module.app)


def main() -> None:
    """Console-script entry point: run the app, turning user errors into one line."""
    try:
        app()
    except SleuthError as e:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
