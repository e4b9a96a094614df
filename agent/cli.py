"""The `sleuth` command line: typer + rich.

Command groups live in their own `cli_*.py` modules; heavy libraries (torch, chromadb, langgraph,
sentence-transformers) are imported only inside the commands that need them so `sleuth --help`
stays fast. User-caused errors (`SleuthError`) become one red line and an exit code here, at the
boundary, and nowhere else.
"""

from __future__ import annotations

import os
import sys

import typer

from agent import (
    cli_agent,
    cli_bench,
    cli_chat,
    cli_data,
    cli_eval,
    cli_graph,
    cli_playbooks,
    cli_profile,
    cli_tools,
    cli_triage,
)
from tools.errors import SleuthError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

app = typer.Typer(
    name="sleuth",
    help="Fraud and AML investigations for a crypto exchange: data, tools, agent, triage and evals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_data.data_app, name="data")
app.add_typer(cli_eval.eval_app, name="eval")
app.add_typer(cli_bench.bench_app, name="bench")
cli_data.register(app)
cli_tools.register(app)
cli_graph.register(app)
cli_graph.register_bench(cli_bench.bench_app)
cli_profile.register(app)
cli_agent.register(app)
cli_triage.register(app)
cli_chat.register(app)
cli_playbooks.register(app)
cli_playbooks.register_eval(cli_eval.eval_app)


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


if __name__ == "__main__":
    main()
