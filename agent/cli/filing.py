"""`sleuth file CASE --format goaml|fincen-sar`: export a SAR case as the report an FIU takes in."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import AsOption, HomeOption, console, settings_from

app = typer.Typer()


@app.command("file")
def file_cmd(case_id: str = typer.Argument(..., help="Case id (the alert id) of a SAR decision."),
             format: str = typer.Option(..., "--format", "-f", help="goaml or fincen-sar."),
             profile: str | None = typer.Option(None, "--profile", "-p", help="FIU profile name (see docs/filing.md)."),
             out: Path | None = typer.Option(None, "--out", "-o", help="XML file to write (default "
                                                                      "<home>/filings/CASE.FORMAT.xml)."),
             as_name: str | None = AsOption, home: Path | None = HomeOption) -> None:
    """Fill, validate and write the filing; refuses, naming every missing required field."""
    from agent.filing import file_case

    settings = settings_from(home, analyst=as_name)
    filing, path, attachment = file_case(settings, case_id, format, profile, out)
    if filing.illustrative_profile:
        console.print(f"[yellow]profile {filing.profile} from {filing.profile_path} holds illustrative values: "
                      f"not for a real filing[/]", highlight=False)
    console.print(f"filed {case_id} as {format} ({filing.profile}): {path}"
                  + (f" with attachment {attachment}" if attachment else "")
                  + "; validated against the schema; recorded in the case and the audit log", highlight=False)
