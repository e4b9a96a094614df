"""`sleuth playbooks check|search`: validate the investigation playbooks and search them.

chromadb, sentence-transformers and torch are imported inside the commands (through
`tools.playbooks.index` / `retrieve`), never at module import, so `sleuth --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, JsonOption, PlaybooksDirOption, console, err_console, print_json, settings_from

app = typer.Typer(name="playbooks", help="Investigation playbooks: validate and search.", no_args_is_help=True)


@app.command("check")
def check(directory: Path | None = typer.Argument(None, metavar="[DIR]", help="Playbook directory."),
          coverage: bool = typer.Option(True, "--coverage/--no-coverage",
                                        help="Also require one playbook for every typology.")) -> None:
    """Validate playbooks: schema, fact names, actions, typologies, check expressions, SQL, sections."""
    from tools.playbooks.load import check_dir

    report = check_dir(directory, require_all_typologies=coverage)
    for issue in report.issues:
        typer.echo(str(issue), err=True)
    if not report.ok:
        err_console.print(f"[bold red]{len(report.issues)} problem(s)[/] in {len(report.playbooks)} loaded playbook(s)")
        raise typer.Exit(1)
    console.print(f"{len(report.playbooks)} playbooks OK", highlight=False)


@app.command("search")
def search(query: str = typer.Argument(..., help="Alert text or question."),
           k: int = typer.Option(3, "--k", min=1, max=50, help="Passages to return."),
           typology: str | None = typer.Option(None, "--typology", help="Only this typology's playbook."),
           playbooks: Path | None = PlaybooksDirOption, home: Path | None = HomeOption,
           as_json: bool = JsonOption) -> None:
    """Search the playbooks: one passage per playbook, best first (or k sections of one typology)."""
    from tools.errors import InputInvalid
    from tools.playbooks.retrieve import search_playbooks
    from tools.schema import TYPOLOGIES

    if typology is not None and typology not in TYPOLOGIES:
        raise InputInvalid(f"unknown typology {typology!r} (known: {', '.join(TYPOLOGIES)})")
    passages = search_playbooks(query, k=k, typology=typology, settings=settings_from(home), directory=playbooks)
    if as_json:
        print_json([p.as_dict() for p in passages])
        return
    from rich.table import Table

    table = Table("score", "citation", "typology", "section", "passage", show_lines=True)
    for p in passages:
        body = p.text.split("\n", 1)[-1]
        table.add_row(f"{p.score:.3f}", p.citation, p.typology, p.section,
                      body[:300] + ("..." if len(body) > 300 else ""))
    console.print(table)
