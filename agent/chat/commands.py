"""Slash commands of `sleuth chat`: deterministic, no model needed."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from agent.chat.session import ChatSession
from tools.errors import InputInvalid
from tools.evidence import Evidence

HELP = """\
/case ALERT            run the full investigation (decision, narrative, actions)
/approve N, /reject N  decide pending action N of the open case (recorded in the audit log)
/sql SELECT ...        one read-only query
/trace ACCOUNT [HOPS] [in|out|both]   fund-flow trace; writes a PNG and an HTML picture
/profile ACCOUNT       KYC, baseline vs alert window, logins, P2P
/screen ADDRESS...     screening-list hits
/report [ALERT]        write the case file (Markdown and HTML)
/model [NAME]          show or switch the backend (rules, learned, local, openai:<model>)
/help                  this text;  /quit (or Ctrl-D) leaves; Ctrl-C cancels an answer
Anything else is a question for the agent, e.g. "who funded ACC-000123 last week?"."""


def evidence_table(ev: Evidence, max_rows: int = 20) -> Table:
    """A tool result as a rich table."""
    t = Table(title=f"[{ev.id}] {ev.tool}: {ev.summary[:100]}", title_justify="left")
    for c in ev.columns:
        t.add_column(str(c), overflow="fold")
    for r in ev.rows[:max_rows]:
        t.add_row(*[str(x) for x in r])
    return t


def show_evidence(console: Console, ev: Evidence) -> None:
    if ev.error:
        console.print(f"[red][{ev.id}] {ev.tool}: {ev.error}[/]", highlight=False)
        return
    if ev.facts:
        console.print("[dim]" + ", ".join(f"{k}={v}" for k, v in list(ev.facts.items())[:14]) + "[/]", highlight=False)
    if ev.columns and ev.rows:
        console.print(evidence_table(ev))
    else:
        console.print(f"[{ev.id}] {ev.summary or 'no rows: the tool found nothing'}", highlight=False)


def _account_or_focus(session: ChatSession, args: list[str]) -> str:
    if args:
        return args[0]
    account = session.focus().get("account_id")
    if not account:
        raise InputInvalid("name an account (or open an alert with /case ALERT first)")
    return account


def _node_progress(console: Console) -> Callable[[str, str, dict], None]:
    """One line as each investigation node starts and ends, with its time and the evidence it recorded."""
    import time

    started: dict[str, float] = {}

    def show(node: str, phase: str, update: dict) -> None:
        if phase == "start":
            started[node] = time.perf_counter()
            console.print(f"[dim]  {node} ...[/]", highlight=False)
            return
        took = time.perf_counter() - started.pop(node, time.perf_counter())
        ids = [f"[{e['id']}] {e['tool']}" for e in update.get("evidence") or [] if isinstance(e, dict)]
        extra = (": " + ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")) if ids else ""
        console.print(f"[dim]  {node} done in {took:.1f} s{extra}[/]", highlight=False)

    return show


def run_command(session: ChatSession, line: str, console: Console) -> bool:
    """Execute one slash command; returns False when the REPL should quit."""
    from agent.cli.cases import show_report
    from tools.registry import run_tool

    try:
        parts = shlex.split(line)
    except ValueError as e:
        raise InputInvalid(f"cannot parse the command: {e}") from e
    cmd, args = parts[0].lower(), parts[1:]
    inv = session.inv_context()

    def step(tool: str, **kw: object) -> Evidence:
        return run_tool(inv, session.focus(), tool, dict(kw))

    handlers: dict[str, Callable[[], None]] = {}

    def case() -> None:
        if not args:
            raise InputInvalid("usage: /case ALERT")
        console.print(f"investigating {args[0]} with {session.model_name} ...", highlight=False)
        report, pending = session.run_case(args[0], on_node=_node_progress(console))
        show_report(report, console)
        if pending:
            console.print(f"[bold]{len(pending)} action(s) wait for your approval:[/] "
                          + ", ".join(f"{a['index']}. {a['action']}" for a in pending)
                          + "  (use /approve N or /reject N)")

    def decide(approve: bool) -> None:
        if not args or not args[0].isdigit():
            raise InputInvalid(f"usage: /{'approve' if approve else 'reject'} N")
        actions = session.decide(int(args[0]), approve)
        for a in actions:
            who = f" by {a['decided_by']} at {a['decided_at']}" if a.get("decided_by") else ""
            console.print(f"{a['index']}. {a['action']}: {a['status'].replace('_', ' ')}{who}")

    def sql() -> None:
        if not args:
            raise InputInvalid("usage: /sql SELECT ...")
        show_evidence(console, step("sql", query=line.split(None, 1)[1]))

    def trace() -> None:
        account = _account_or_focus(session, args)
        hops = int(args[1]) if len(args) > 1 and args[1].isdigit() else 2
        direction = args[2] if len(args) > 2 else "out"
        if direction not in ("in", "out", "both"):
            raise InputInvalid("direction must be in, out or both")
        ev = step("trace", account_id=account, hops=hops, direction=direction)
        show_evidence(console, ev)
        from agent.pictures import trace_pictures

        out = session.settings.home / "pictures"
        for path in trace_pictures(session.db, account, direction, hops, session.focus().get("created_at"),
                                   out / f"trace-{account}-{direction}-{hops}"):
            console.print(f"picture: {path}")

    def profile() -> None:
        show_evidence(console, step("profile", account_id=_account_or_focus(session, args)))

    def screen() -> None:
        if not args:
            raise InputInvalid("usage: /screen ADDRESS...")
        show_evidence(console, step("screen", addresses=args))

    def report() -> None:
        from agent.casefile import render_html, render_markdown
        from agent.cli.cases import case_picture
        from agent.store import CaseStore

        case_id = args[0] if args else (session.focus().get("alert_id") or "")
        if not case_id:
            raise InputInvalid("usage: /report ALERT (or run /case ALERT first)")
        rep = CaseStore(session.settings).load(case_id)
        out = session.settings.home / "reports"
        out.mkdir(parents=True, exist_ok=True)
        md, html = out / f"{case_id}.md", out / f"{case_id}.html"
        md.write_text(render_markdown(rep), encoding="utf-8")
        html.write_text(render_html(rep, case_picture(session.settings, rep)), encoding="utf-8")
        console.print(f"case file: {md}\ncase file: {html}")

    def model() -> None:
        if not args:
            console.print(f"model: {session.model_name} ({session.style})")
            return
        with console.status(f"starting {args[0]} ..."):
            console.print(session.set_model(args[0]))

    def help_() -> None:
        console.print(HELP, highlight=False)

    handlers.update({"/case": case, "/approve": lambda: decide(True), "/reject": lambda: decide(False),
                     "/sql": sql, "/trace": trace, "/profile": profile, "/screen": screen, "/report": report,
                     "/model": model, "/help": help_})
    if cmd in ("/quit", "/exit"):
        return False
    handler = handlers.get(cmd)
    if handler is None:
        raise InputInvalid(f"unknown command {cmd}; /help lists them")
    handler()
    return True
