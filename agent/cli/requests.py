"""`sleuth requests add|list|review|approve|reject`: restriction-lift requests, reviewed and decided four-eyes."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import AsOption, HomeOption, JsonOption, console, print_json, settings_from

app = typer.Typer(name="requests", help="Requests to lift a restriction (thaw an account, unbind a device or "
                                        "address): review with cited facts, decide four-eyes.", no_args_is_help=True)


@app.command("add")
def add_cmd(account: str = typer.Argument(..., help="Account id."),
            kind: str = typer.Option(..., "--kind", help="thaw or unbind."),
            reason: str = typer.Option(..., "--reason", help="Why the business line asks."),
            target: str = typer.Option("", "--target", help="The device or address to unbind."),
            as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Queue a lift request."""
    from agent.lift import add

    req = add(settings_from(home, analyst=as_name), account, kind, reason, target)
    console.print(f"{req.id}: {req.kind} of {req.account_id} requested by {req.requested_by} "
                  f"({req.requested_by_source}); review it with sleuth requests review {req.id}", highlight=False)


@app.command("list")
def list_cmd(home: Path | None = HomeOption, json_out: bool = JsonOption) -> None:
    """Every lift request with its status."""
    from rich.table import Table

    from agent.lift import all_requests

    reqs = all_requests(settings_from(home))
    if json_out:
        print_json([r.model_dump(mode="json", exclude={"evidence"}) for r in reqs])
        return
    table = Table("id", "account", "kind", "status", "requested by", "proposal", "decided by")
    for r in reqs:
        table.add_row(r.id, r.account_id, r.kind, r.status, r.requested_by, r.review.get("proposal", ""),
                      r.decided_by or "")
    console.print(table if reqs else "no lift requests")


@app.command("review")
def review_cmd(request_id: str = typer.Argument(..., help="Request id (REQ-00001)."),
               as_name: str | None = AsOption, home: Path | None = HomeOption, json_out: bool = JsonOption) -> None:
    """The checklist: original case and evidence, what changed since, open alerts, the policy's conditions,
    and the proposal with each fact cited."""
    from agent.lift import as_json, review

    req = review(settings_from(home, analyst=as_name), request_id)
    if json_out:
        typer.echo(as_json(req))
        return
    console.print(f"[bold]{req.id}[/]: {req.kind} of {req.account_id}, requested by {req.requested_by}: "
                  f"{req.reason}", highlight=False)
    for ev in req.evidence:
        console.print(f"  {ev.id} {ev.tool}: {ev.summary}", highlight=False)
    console.print("[bold]conditions[/] (playbooks/restriction_lift.md):")
    for line in req.review["checklist"]:
        console.print(f"  {line}", highlight=False)
    colour = "green" if req.review["proposal"] == "approve" else "red"
    console.print(f"[bold {colour}]proposal: {req.review['proposal']}[/] ({req.review['summary']}); decide with "
                  f"sleuth requests approve|reject {req.id} (not by {req.requested_by})", highlight=False)


def _decide(request_id: str, approve: bool, note: str, as_name: str | None, home: Path | None) -> None:
    from agent.lift import decide

    req = decide(settings_from(home, analyst=as_name), request_id, approve, note)
    against = " (against the review's proposal)" if req.review.get("proposal") != ("approve" if approve else "reject") \
        else ""
    console.print(f"{req.id}: {req.status} by {req.decided_by} ({req.decided_by_source}) at {req.decided_at}{against}",
                  highlight=False)


@app.command("approve")
def approve_cmd(request_id: str = typer.Argument(..., help="Request id."),
                note: str = typer.Option("", "--note", help="Why, for the record."),
                as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Approve a reviewed request (not by its requester; a role must permit the kind)."""
    _decide(request_id, True, note, as_name, home)


@app.command("reject")
def reject_cmd(request_id: str = typer.Argument(..., help="Request id."),
               note: str = typer.Option("", "--note", help="Why, for the record."),
               as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Reject a reviewed request (not by its requester; a role must permit the kind)."""
    _decide(request_id, False, note, as_name, home)
