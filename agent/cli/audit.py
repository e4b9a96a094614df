"""`sleuth audit verify`: check the hash chain of the workspace's audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, JsonOption, console, print_json, settings_from

app = typer.Typer(name="audit", help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify_cmd(home: Path | None = HomeOption, json_out: bool = JsonOption) -> None:
    """Walk the audit log's hash chain; name the first edited, missing, reordered or inserted entry."""
    from agent.audit import head_path, verify

    log = settings_from(home).audit_log
    v = verify(log)
    if json_out:
        print_json({"ok": v.ok, "entries": v.entries, "legacy_lines": v.legacy, "problem": v.problem,
                    "head_hash": v.head_hash, "log": str(log)})
    elif v.ok:
        legacy = f" after {v.legacy} lines from before the chain (sealed by the first entry)" if v.legacy else ""
        console.print(f"[green]audit log intact:[/] {v.entries} entries{legacy}; newest hash {v.head_hash} "
                      f"(as in {head_path(log).name})", highlight=False)
    else:
        console.print(f"[bold red]audit log broken:[/] {v.problem}", highlight=False, soft_wrap=True)
    if not v.ok:
        raise typer.Exit(1)
