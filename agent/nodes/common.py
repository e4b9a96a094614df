"""Helpers shared by nodes: timing, trace events and ledger access."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent.context import InvestigationContext
from tools.evidence import Evidence


@contextmanager
def timed(update: dict[str, Any], node: str) -> Iterator[None]:
    """Record the node's wall time and a trace event into the partial update."""
    start = time.perf_counter()
    yield
    ms = (time.perf_counter() - start) * 1000
    update.setdefault("timings", {})[node] = round(ms, 2)
    update.setdefault("trace", []).insert(0, {"node": node, "ms": round(ms, 2)})


def new_evidence(ctx: InvestigationContext, before: int) -> list[dict[str, Any]]:
    """Evidence recorded in the ledger since `before`, as dicts for the state."""
    return [e.model_dump() for e in ctx.ledger.all()[before:]]


def ledger_map(state: dict[str, Any]) -> dict[str, Evidence]:
    """The state's evidence as id -> Evidence."""
    return {e["id"]: Evidence.model_validate(e) for e in state.get("evidence", [])}


def facts_of(state: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """All facts in the state's evidence: name -> (value, evidence id); the latest wins."""
    out: dict[str, tuple[Any, str]] = {}
    for e in state.get("evidence", []):
        if e.get("error"):
            continue
        for k, v in (e.get("facts") or {}).items():
            out[k] = (v, e["id"])
    return out


def tool_event(ev: Evidence, source: str) -> dict[str, Any]:
    """A trace entry for one tool call."""
    return {"tool": ev.tool, "args": ev.args, "evidence_id": ev.id, "source": source, "rows": ev.row_count,
            "error": ev.error, "ms": ev.elapsed_ms, "summary": ev.summary[:300]}
