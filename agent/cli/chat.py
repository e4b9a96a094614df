"""`sleuth chat`: the investigator's terminal."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import AsOption, HomeOption, console, settings_from

app = typer.Typer()


@app.command("chat")
def chat(alert: str | None = typer.Option(None, "--alert", "-a", help="Open this alert first."),
         model: str | None = typer.Option(None, "--model", "-m", help="local (default), rules, learned or openai:<model>."),
         thread: str = typer.Option("default", "--thread", "-t", help="Conversation to start or resume."),
         as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Chat with the agent about alerts, accounts and addresses (slash commands: /help)."""
    import os
    import time

    from agent.chat.repl import repl
    from agent.chat.session import ChatSession

    name = model or os.environ.get("SLEUTH_MODEL") or "local"
    settings = settings_from(home, analyst=as_name)
    start = time.perf_counter()
    fake = None
    if name.startswith("fake:"):
        from agent.chat.script import load_script

        fake = load_script(Path(name.split(":", 1)[1]))
    with console.status(f"starting {name} ..."):
        session = ChatSession(settings, thread, name, model=fake, style="native" if fake else None)
    console.print(f"[dim]{session.model_name} ready in {time.perf_counter() - start:.1f} s"
                  + (f" ({session.note})" if session.note else "") + "[/]", highlight=False)
    try:
        if alert:
            from agent.chat.commands import run_command
            from agent.chat.repl import typing_hidden

            with typing_hidden():
                run_command(session, f"/case {alert}", console)
        repl(session, console)
    finally:
        session.close()
