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


def tool_event(ev: Evidence, source: str, call: str | None = None) -> dict[str, Any]:
    """A trace entry for one tool call; `call` is its `tools.registry.call_key` where a model may ask for
    the same call again (playbook steps and router steps), so `made_calls` can tell."""
    event = {"tool": ev.tool, "args": ev.args, "evidence_id": ev.id, "source": source, "rows": ev.row_count,
             "error": ev.error, "ms": ev.elapsed_ms, "summary": ev.summary[:300]}
    return event | ({"call": call} if call else {})


def made_calls(state: dict[str, Any]) -> dict[str, str]:
    """The calls this case has made (call key -> evidence id), keyed by the arguments requested, not the
    ones a tool records (a trace records `entity` and `max_hops`): what a model is not asked to run again."""
    return {t["call"]: t["evidence_id"] for t in state.get("trace", []) if t.get("call")}


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
