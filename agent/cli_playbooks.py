"""`sleuth index`, `sleuth playbooks check|search` and `sleuth eval retrieval`.

chromadb, sentence-transformers and torch are imported inside the commands (through
`tools.playbooks.index` / `retrieve`), never at module import, so `sleuth --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli_common import HomeOption, JsonOption, console, err_console, print_json, settings_from

playbooks_app = typer.Typer(help="Investigation playbooks: validate and search.", no_args_is_help=True)
PlaybooksDirOption = typer.Option(None, "--playbooks", help="Playbook directory (default: the repository's playbooks/).")


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


@playbooks_app.command("check")
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


@playbooks_app.command("search")
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


def retrieval(queries: Path | None = typer.Option(None, "--queries", help="Queries JSONL (default: "
                                                  "evals/retrieval/queries.jsonl)."),
              alerts_cases: Path | None = typer.Option(None, "--alerts-cases",
                                                       help="Case file: score on its alerts' descriptions instead."),
              alerts: Path | None = typer.Option(None, "--alerts", help="alerts.parquet to read descriptions from "
                                                 "(default: the workspace DB, else the committed sample)."),
              show_misses: bool = typer.Option(False, "--misses", help="List the queries not ranked first."),
              home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """Playbook retrieval quality: recall@1, recall@3 and MRR (bars: 0.8 and 0.95)."""
    from evals.retrieval.run import DEFAULT_QUERIES, evaluate, load_alert_queries, load_queries

    settings = settings_from(home)
    if alerts_cases is not None:
        qs, name = load_alert_queries(alerts_cases, settings, alerts), f"alerts of {alerts_cases}"
    else:
        path = queries or DEFAULT_QUERIES
        qs, name = load_queries(path), str(path)
    result = evaluate(qs, settings, name=name)
    if as_json:
        print_json(result.as_dict())
        return
    candidates = f"candidates {result.candidate_recall:.3f}  " if result.candidate_recall is not None else ""
    console.print(f"[bold]{name}[/]: {result.n} queries  recall@1 {result.recall_at_1:.3f}  "
                  f"recall@3 {result.recall_at_3:.3f}  MRR {result.mrr:.3f}  {candidates}"
                  f"latency p50 {result.latency_ms_p50:.0f} ms, p95 {result.latency_ms_p95:.0f} ms", highlight=False)
    from rich.table import Table

    table = Table("typology", "n", "recall@1", "recall@3")
    for typ, row in result.per_typology.items():
        table.add_row(typ, str(int(row["n"])), f"{row['recall_at_1']:.2f}", f"{row['recall_at_3']:.2f}")
    console.print(table)
    if show_misses:
        for m in result.misses:
            console.print(f"rank {m['rank']}: expected {m['expected']}, got {', '.join(m['top3'])}: {m['query']}",
                          highlight=False)


def register(app: typer.Typer) -> None:
    """`sleuth index` and the `sleuth playbooks` group."""
    app.command("index")(index)
    app.add_typer(playbooks_app, name="playbooks")


def register_eval(eval_app: typer.Typer) -> None:
    """`sleuth eval retrieval`."""
    eval_app.command("retrieval")(retrieval)
