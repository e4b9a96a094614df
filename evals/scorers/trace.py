"""Trace: what a case cost: tool calls, rejected SQL, model calls, tokens and seconds.

Read from the report's trace (entries with a `tool` key are tool calls, whichever node made them;
entries with `model_call` are model calls, `valid: false` marks a router reply that did not parse),
`report.tokens` (summed) and `report.timings_ms` (`total` when the runner set it, else the sum of
the nodes). A SQL call counts as rejected when the guard refused it (its error or, for native tool
calls, its result text says "rejected"); a query DuckDB failed on counts as an SQL error instead.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.report import CaseReport
from evals.dataset import LabelledCase
from evals.scorers.base import Record, Scorer, mean, quantile

NAME = "trace"


def summarize(report: CaseReport | None) -> Record:
    """A compact summary of one case's trace (also stored as the case's trace summary in the log)."""
    if report is None:
        return {"tool_calls": 0, "tools": {}, "sql_calls": 0, "sql_rejected": 0, "sql_errors": 0,
                "model_calls": 0, "invalid_model_calls": 0, "tokens": 0, "seconds": 0.0, "nodes_ms": {}}
    tools: Counter[str] = Counter()
    sql_rejected = sql_errors = model_calls = invalid = 0
    for entry in report.trace:
        if "model_call" in entry:
            model_calls += 1
            invalid += entry.get("valid") is False
        if "tool" not in entry:
            continue
        tools[str(entry["tool"])] += 1
        if entry["tool"] == "sql":
            text = f"{entry.get('error') or ''} {entry.get('result') or ''}".lower()
            if "rejected" in text:
                sql_rejected += 1
            elif entry.get("error"):
                sql_errors += 1
    timings = report.timings_ms
    ms = timings["total"] if "total" in timings else sum(timings.values())
    return {
        "tool_calls": sum(tools.values()), "tools": dict(tools), "sql_calls": tools.get("sql", 0),
        "sql_rejected": sql_rejected, "sql_errors": sql_errors, "model_calls": model_calls,
        "invalid_model_calls": invalid, "tokens": int(sum(report.tokens.values())), "seconds": ms / 1000,
        "nodes_ms": {k: v for k, v in timings.items() if k != "total"},
    }


def score(case: LabelledCase, report: CaseReport | None) -> Record:
    """The trace summary without the per-node detail (kept in the case's trace summary)."""
    summary = summarize(report)
    summary.pop("nodes_ms")
    return summary


def aggregate(records: list[Record]) -> dict[str, Any]:
    """Means and totals of tool calls, rejected SQL, tokens and seconds per case."""
    seconds = [r["seconds"] for r in records]
    return {
        "tool_calls_mean": mean([r["tool_calls"] for r in records]),
        "sql_calls": sum(r["sql_calls"] for r in records),
        "sql_rejected": sum(r["sql_rejected"] for r in records),
        "sql_errors": sum(r["sql_errors"] for r in records),
        "model_calls_mean": mean([r["model_calls"] for r in records]),
        "invalid_model_calls": sum(r["invalid_model_calls"] for r in records),
        "tokens_mean": mean([r["tokens"] for r in records]),
        "tokens_total": sum(r["tokens"] for r in records),
        "seconds_mean": mean(seconds),
        "seconds_p50": quantile(seconds, 0.5),
        "seconds_p95": quantile(seconds, 0.95),
    }


def trace_scorer() -> Scorer:
    """The trace scorer."""
    return Scorer(NAME, score, aggregate)
