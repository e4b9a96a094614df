"""`sleuth actions list|approve|reject`: decide a case's account-affecting actions, four-eyes.

The same check as chat's `/approve` (agent.approvals): whoever opened the case cannot decide its
freeze, restriction, block or offboarding, and the decider needs a role that permits the action.
Cases from `sleuth triage` and `sleuth investigate` are decided here.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import AsOption, HomeOption, JsonOption, console, print_json, settings_from

app = typer.Typer(name="actions", help="Approve or reject recommended account-affecting actions (four-eyes).",
                  no_args_is_help=True)


@app.command("list")
def list_cmd(home: Path | None = HomeOption, json_out: bool = JsonOption) -> None:
    """Every action in the case store that waits for an approval."""
    from rich.table import Table

    from agent.approvals import pending_actions

    rows = pending_actions(settings_from(home))
    if json_out:
        print_json([{"case_id": c, "opened_by": o, **a} for c, o, a in rows])
        return
    table = Table("case", "N", "action", "opened by", "reason")
    for case_id, opened_by, a in rows:
        table.add_row(case_id, str(a["index"]), a["action"], opened_by or "?", a["reason"])
    console.print(table if rows else "no action waits for an approval")


def _decide(case_id: str, index: int, approve: bool, as_name: str | None, home: Path | None) -> None:
    from agent.approvals import decide_action, identity

    settings = settings_from(home, analyst=as_name)
    who = identity(settings)
    actions = decide_action(settings, case_id, index, approve, who)
    a = next(a for a in actions if a["index"] == index)
    console.print(f"{case_id} {index}. {a['action']}: {a['status']} by {who.name} ({who.source}) at "
                  f"{a['decided_at']}", highlight=False)


@app.command("approve")
def approve_cmd(case_id: str = typer.Argument(..., help="Case id (the alert id)."),
                index: int = typer.Argument(..., help="Action number, as listed."),
                as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Approve pending action N of a case (not by the analyst who opened it)."""
    _decide(case_id, index, True, as_name, home)


@app.command("reject")
def reject_cmd(case_id: str = typer.Argument(..., help="Case id (the alert id)."),
               index: int = typer.Argument(..., help="Action number, as listed."),
               as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Reject pending action N of a case (not by the analyst who opened it)."""
    _decide(case_id, index, False, as_name, home)
