"""`sleuth index`: embed the playbooks into the workspace's Chroma index.

chromadb and the embedding engine are imported inside the command (through `tools.playbooks.index`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import HomeOption, JsonOption, PlaybooksDirOption, console, print_json, settings_from

app = typer.Typer()


@app.command("index")
def index(rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed everything again."),
          playbooks: Path | None = PlaybooksDirOption, home: Path | None = HomeOption,
          as_json: bool = JsonOption) -> None:
    """Embed the playbooks into the workspace's Chroma index (incremental; stale indexes rebuild)."""
    from tools.playbooks.index import build_index

    settings = settings_from(home)
    with console.status("indexing playbooks (loading the embedding model when something changed)..."):
        report = build_index(settings, playbooks, rebuild=rebuild)
    if as_json:
        print_json(report.as_dict())
        return
    what = f"rebuilt ({report.reason})" if report.rebuilt else "updated" if report.changed else "up to date"
    console.print(f"playbook index {what}: {len(report.added)} added, {len(report.updated)} updated, "
                  f"{len(report.removed)} removed, {len(report.unchanged)} unchanged; "
                  f"{report.chunks_embedded} chunks embedded, {report.chunks_total} in the index; "
                  f"{report.seconds:.1f} s", highlight=False)
    console.print(f"model: {report.model}; location: {settings.chroma_dir}", highlight=False, style="dim")
