"""`sleuth demo`: the workspace from the committed sample, then the whole backlog triaged with `rules`."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, settings_from

app = typer.Typer()


@app.command("demo")
def demo_cmd(home: Path | None = HomeOption) -> None:
    """Set up the workspace from the sample, then triage the whole backlog with the rules backend."""
    from agent.cli.alerts import print_queue
    from agent.cli.triage import triage_command
    from agent.cli.workspace import ensure_data, ensure_index
    from tools.data.stats import AlertFilter, alert_queue

    settings = settings_from(home)
    ensure_data(settings, None)
    ensure_index(settings)
    print_queue(alert_queue(settings, AlertFilter(), 5))
    triage_command("all", "rules", None, None, resume=False, fresh=True, home=home)
