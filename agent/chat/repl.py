"""The terminal loop of `sleuth chat`: prompt_toolkit input, rich output, Ctrl-C and Ctrl-D.

Ctrl-C while an answer streams cancels that answer and returns to the prompt; Ctrl-C at the
prompt clears the line; Ctrl-D (or /quit) leaves. History persists across sessions in the
workspace; Esc then Enter inserts a newline for multi-line questions. What is typed while an answer
prints is not echoed by the terminal: it appears once, whole, at the next prompt.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from agent.chat.commands import run_command
from agent.chat.session import ChatSession
from tools.errors import SleuthError
from tools.evidence import Evidence


def _reader(session: ChatSession) -> Callable[[], str]:
    """A line reader: prompt_toolkit on a terminal, plain input otherwise (pipes, tests)."""
    if not sys.stdin.isatty():
        return lambda: input("sleuth> ")
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event) -> None:  # type: ignore[no-untyped-def]
        event.current_buffer.insert_text("\n")

    prompt = PromptSession(history=FileHistory(str(session.settings.home / "chat_history")), key_bindings=bindings)
    return lambda: prompt.prompt("sleuth> ")


@contextmanager
def typing_hidden(fd: int | None = None) -> Iterator[None]:
    """While output prints, keep the terminal from echoing keys typed ahead.

    Why: prompt_toolkit owns the terminal only while it reads a line; in between the tty is in cooked
    mode and echoes each key where the cursor is, so a question typed during an answer landed in pieces
    among the progress lines ("which counterparties of their   retrieve_playbooks done in 1.1 s") before
    the prompt drew it again. Canonical mode stays on, so the keys are kept for the next prompt."""
    import termios

    fd = sys.stdin.fileno() if fd is None else fd
    try:
        before = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):  # not a terminal: pipes, tests
        yield
        return
    quiet = list(before)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


def _args_text(args: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())


def _tool_start(console: Console) -> Callable[[str, dict], None]:
    def show(name: str, args: dict) -> None:
        console.print(f"\n[cyan]tool[/] {name}({_args_text(args)}) ...", highlight=False)

    return show


def _tool_line(console: Console) -> Callable[[str, dict, Evidence], None]:
    def show(name: str, args: dict, ev: Evidence) -> None:
        result = ev.error or ev.summary or f"{ev.row_count} rows"
        console.print(f"[cyan]tool[/] {name} done -> [bold][{ev.id}][/] {result[:140]}", highlight=False)

    return show


def repl(session: ChatSession, console: Console) -> None:
    """Read, answer, repeat until /quit or Ctrl-D."""
    read = _reader(session)
    console.print(f"[bold]Sleuth chat[/] - thread [cyan]{session.thread}[/], {session.model_name} ({session.style}). "
                  "/help for commands.", highlight=False)
    past = session.history()
    if past:
        console.print(f"[dim]resumed thread with {len(past)} messages; last question: "
                      f"{next((m.content for m in reversed(past) if m.type == 'human'), '')[:80]}[/]", highlight=False)
    if session.pending_case:
        console.print(f"[yellow]case {session.pending_case} has actions waiting for approval[/]")
    while True:
        try:
            line = read().strip()
        except KeyboardInterrupt:
            continue
        except EOFError:
            console.print("bye")
            return
        if not line:
            continue
        try:
            with typing_hidden():
                if not _answer(session, line, console):
                    console.print("bye")
                    return
        except KeyboardInterrupt:
            console.print("\n[yellow](answer cancelled)[/]")
        except SleuthError as e:
            console.print(f"[red]error:[/] {e}", highlight=False)


def _answer(session: ChatSession, line: str, console: Console) -> bool:
    """Run a slash command or answer a question; False when the REPL should quit."""
    if line.startswith("/"):
        return run_command(session, line, console)
    started: list[bool] = []

    def token(t: str) -> None:
        if not started:
            started.append(True)
            console.print("[bold green]answer[/]: ", end="")
        console.print(t, end="", highlight=False, markup=False)

    session.ask(line, on_token=token, on_tool=_tool_line(console), on_tool_start=_tool_start(console),
                on_status=lambda t: console.print(f"[dim]{t}[/]", highlight=False))
    console.print()
    return True
