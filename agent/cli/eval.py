"""`sleuth eval run|report|compare|gate|retrieval|chat`: eval runs, comparisons, the CI gate, the retrieval eval and the chat eval.

The commands are thin: the work lives in `evals/` and is imported inside each command so that
`sleuth --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.common import (
    HomeOption,
    JsonOption,
    batch_progress,
    console,
    err_console,
    print_json,
    settings_from,
)

if TYPE_CHECKING:
    from evals.log import RunLog

app = typer.Typer(name="eval", help="Score Sleuth against labelled cases.", no_args_is_help=True)


def _headline_table(log: RunLog) -> Any:
    from rich.table import Table

    from evals.headline import HEADLINE, fmt
    from evals.scorers.base import flat_metrics

    flat = flat_metrics(log.metrics)
    t = Table(title=f"{log.run_id}: {log.model} (backend {log.backend}) on {log.case_set.name}, {len(log.cases)} cases")
    t.add_column("metric")
    t.add_column("key", style="dim")
    t.add_column("value", justify="right")
    for m in HEADLINE:
        if m.key in flat:
            t.add_row(m.label, m.key, fmt(flat[m.key]))
    return t


@app.command("run")
def run(cases: Path = typer.Option(..., "--cases", "-c", help="Case file (JSONL of labelled alerts)."),
        model: str | None = typer.Option(None, "--model", "-m",
                                         help="rules, learned, local, openai:<model>, or the baseline escalate-all."),
        cv: int | None = typer.Option(None, "--cv", help="With --model learned: K-fold cross-validation; each fold is "
                                                         "scored by a model trained on the other K-1 folds only."),
        limit: int | None = typer.Option(None, "--limit", "-n", help="Only the first N cases."),
        workers: int | None = typer.Option(None, "--workers", "-w", help="Parallel worker processes (default 2)."),
        repeats: int = typer.Option(1, "--repeats", help="Judgements per narrative (with --judge): mean and spread."),
        judge: str | None = typer.Option(None, "--judge", help="LLM judge of narrative quality: local or openai:<model>."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (default <home>/runs/<set>-<model>-<time>)."),
        resume: bool = typer.Option(False, "--resume", help="Finish an interrupted run: skip its finished cases."),
        retry_failed: bool = typer.Option(False, "--retry-failed",
                                          help="With --resume: run again the cases that failed (e.g. model timeouts)."),
        engine: str = typer.Option("local", "--engine", help="local (processes here) or ray (RAY_ADDRESS's "
                                                             "cluster, else a local Ray; docs/ray.md)."),
        home: Path | None = HomeOption) -> None:
    """Investigate every labelled case, score it, and write run.json, report.md and report.html."""
    import time

    from rich.markup import escape

    from evals.runner import RunOptions, run_eval

    settings = settings_from(home, model=model, workers=workers)
    opts = RunOptions(cases=cases, model=settings.model, limit=limit, workers=settings.workers, out=out,
                      resume=resume, judge=judge, repeats=repeats, retry_failed=retry_failed, engine=engine)
    state: dict[str, Any] = {"right": 0, "wrong": 0, "failed": 0}
    progress = batch_progress("eval")

    def on_start(run_dir: Path, todo: int, done: int) -> None:
        state["run_dir"] = run_dir
        if done:
            console.print(f"resuming {run_dir}: {done} case(s) already done")
        progress.start()
        state["task"] = progress.add_task("eval", total=todo + done, completed=done, mix="")

    def on_case(record: Any) -> None:
        key = "failed" if record.error else "right" if record.scores["disposition"]["correct"] else "wrong"
        state[key] += 1
        mix = f"right {state['right']} wrong {state['wrong']}" + (f" failed {state['failed']}" if state["failed"] else "")
        progress.update(state["task"], advance=1, mix=mix)

    start = time.perf_counter()
    try:
        if cv is not None:
            from evals.cv import run_cv

            log, run_dir = run_cv(opts, settings, cv, on_start=on_start, on_case=on_case)
        else:
            log, run_dir = run_eval(opts, settings, on_start=on_start, on_case=on_case)
    except KeyboardInterrupt:
        progress.stop()
        if "run_dir" in state:
            err_console.print(f"interrupted: finished cases are kept in {state['run_dir']}/cases.jsonl; continue with "
                              f"`sleuth eval run --cases {cases} --model {opts.model} --out {state['run_dir']} --resume`",
                              highlight=False)
        raise typer.Exit(130) from None
    finally:
        progress.stop()
    console.print(_headline_table(log))
    for note in log.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    console.print(f"{len(log.cases)} cases in {time.perf_counter() - start:.1f} s; "
                  f"run log {run_dir / 'run.json'}; report {run_dir / 'report.html'}", highlight=False)


@app.command("report")
def report(run_path: Path = typer.Argument(..., metavar="RUN", help="Run folder or its run.json.")) -> None:
    """Redraw report.md and report.html (and the worst cases' case files) from a run's run.json."""
    from evals.log import load_run, run_log_path
    from evals.outputs import write_reports

    log = load_run(run_path)
    run_dir = run_log_path(run_path).parent
    write_reports(log, run_dir)
    console.print(_headline_table(log))
    console.print(f"wrote {run_dir / 'report.md'} and {run_dir / 'report.html'}", highlight=False)


@app.command("compare")
def compare(run_a: Path = typer.Argument(..., metavar="RUN_A", help="Baseline run (folder or run.json)."),
            run_b: Path = typer.Argument(..., metavar="RUN_B", help="Candidate run (folder or run.json)."),
            md: Path | None = typer.Option(None, "--md", help="Also write the comparison as Markdown to this file."),
            resamples: int = typer.Option(2000, "--resamples", help="Bootstrap resamples."),
            seed: int | None = typer.Option(None, "--seed", help="Bootstrap seed (fixed by default).")) -> None:
    """Per-metric deltas B - A with paired-bootstrap 95% intervals, McNemar's test and the flipped cases."""
    from agent.store import atomic_write
    from evals.compare import SEED, compare_runs
    from evals.compare_report import print_comparison, render_markdown
    from evals.log import load_run
    from tools.errors import InputInvalid

    if resamples < 100:
        raise InputInvalid("--resamples must be at least 100 for a 95% interval to mean anything")
    result = compare_runs(load_run(run_a), load_run(run_b), resamples, SEED if seed is None else seed)
    print_comparison(result)
    if md is not None:
        atomic_write(md, render_markdown(result))
        console.print(f"wrote {md}", highlight=False)


@app.command("gate")
def gate(run_path: Path = typer.Argument(..., metavar="RUN", help="Run folder or its run.json."),
         thresholds: Path | None = typer.Option(None, "--thresholds", "-t",
                                                help="Thresholds file (default: evals/thresholds.toml)."),
         section: str | None = typer.Option(None, "--section", help="Section to use instead of <case set>.<backend>.")
         ) -> None:
    """Exit non-zero, with one line per failing metric, when a run is below its thresholds."""
    from rich.markup import escape

    from evals.gate import DEFAULT_THRESHOLDS
    from evals.gate import gate as run_gate
    from evals.log import load_run

    name, checks = run_gate(load_run(run_path), thresholds or DEFAULT_THRESHOLDS, section)
    failed = [c for c in checks if not c.ok]
    for c in failed:
        console.print(f"[red]FAIL[/] {escape(c.line())}", highlight=False)
    if failed:
        console.print(f"gate {name}: {len(failed)} of {len(checks)} checks failed", highlight=False, markup=False)
        raise typer.Exit(1)
    console.print(f"[green]gate {escape(name)}: all {len(checks)} checks passed[/]", highlight=False)


@app.command("retrieval")
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


@app.command("chat")
def chat(model: str = typer.Option("rules", "--model", "-m", help="rules, local or openai:<model>."),
         questions: Path | None = typer.Option(None, "--questions", "-q", help="Questions JSONL "
                                               "(default: evals/chat/questions.jsonl)."),
         split: str = typer.Option("all", "--split", help="all, dev, heldout or blind."),
         out: Path | None = typer.Option(None, "--out", "-o", help="Write the scored run as JSON here."),
         home: Path | None = HomeOption) -> None:
    """Ask the chat eval's investigator questions; score tools, facts, citations, claims and seconds."""
    import json

    from rich.table import Table

    from evals.chat_eval import QUESTIONS, QuestionResult, load_questions, run_chat_eval
    from tools.errors import InputInvalid

    if split not in ("all", "dev", "heldout", "blind"):
        raise InputInvalid("--split must be all, dev, heldout or blind")
    path = questions or QUESTIONS
    if not path.is_file():
        raise InputInvalid(f"no questions file at {path}")
    qs = load_questions(path, split)
    settings = settings_from(home)

    def show(r: QuestionResult) -> None:
        mark = "[green]ok[/]" if r.correct else "[red]WRONG[/]"
        console.print(f"{mark} {r.id}: {r.seconds:.1f} s, tools {','.join(r.tools) or '-'}"
                      + (f", missing {r.missing}" if r.missing else ""), highlight=False)

    run = run_chat_eval(settings, model, qs, on_result=show)
    t = Table(title=f"chat eval: {run['backend']}, {run['questions']} questions")
    t.add_column("metric")
    for s in run["by_split"]:
        t.add_column(s, justify="right")
    t.add_column("all", justify="right")
    for key in run["summary"]:
        t.add_row(key, *[str(run["by_split"][s][key]) for s in run["by_split"]], str(run["summary"][key]))
    console.print(t)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(run, indent=1, default=str), encoding="utf-8")
        console.print(f"run: {out}")
