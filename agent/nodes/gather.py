"""gather_evidence: run the evidence steps the candidate playbooks name, once each.

Every case gets these baseline facts whatever the model later does. The steps are independent
read-only queries, so they run on `settings.gather_threads` threads, each with its own cursor and a
scratch ledger; the results are then added to the case's ledger in step order, so evidence ids do
not depend on which query finished first.
"""

from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import new_evidence, timed, tool_event
from agent.state import CaseState
from tools.evidence import Evidence, EvidenceLedger
from tools.playbooks.schema import EvidenceStep
from tools.registry import call_key, run_tool

FACTLESS_TOOLS = ("trace",)


def planned_steps(state: CaseState, ctx: InvestigationContext) -> list[tuple[str, EvidenceStep, str]]:
    """(typology, step, call key) for the union of the candidates' evidence steps, deduplicated by call."""
    playbooks = ctx.playbooks
    seen: set[str] = set()
    plan = []
    for typ in state.get("candidates", []):
        for step in playbooks.by_typology[typ].evidence_steps:
            if not ctx.driver.reads_traces and step.tool in FACTLESS_TOOLS:
                continue
            key = call_key(step.tool, state.get("alert"), step.args)
            if key not in seen:
                seen.add(key)
                plan.append((typ, step, key))
    return plan


def _run(ctx: InvestigationContext, alert: dict[str, Any], step: EvidenceStep) -> Evidence:
    ev = run_tool(ctx, alert, step.tool, step.args)
    if step.tool == "sql" and not ev.error:
        first = dict(zip(ev.columns, ev.rows[0], strict=False)) if ev.rows else {}
        ev.facts = {name: first.get(name, 0) for name in step.facts}
    return ev


def _run_parallel(ctx: InvestigationContext, alert: dict[str, Any], steps: list[EvidenceStep],
                  threads: int) -> list[Evidence]:
    """Run the steps on `threads` connections; returns each step's evidence, in step order, in the ledger."""
    free: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for db in ctx.db.pool(threads):
        free.put(db)

    def one(step: EvidenceStep) -> tuple[list[Evidence], Evidence]:
        db = free.get()
        try:
            scratch = EvidenceLedger(ctx.ledger.row_cap)
            ev = _run(replace(ctx, db=db, ledger=scratch), alert, step)
            return scratch.all(), ev
        finally:
            free.put(db)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gather") as pool:
        done = list(pool.map(one, steps))
    for items, _ in done:
        ctx.ledger.adopt(items)
    return [ev for _, ev in done]


def gather_evidence(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Run the planned evidence steps and record them as trace events."""
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "gather_evidence"):
        before = len(ctx.ledger)
        plan = planned_steps(state, ctx)
        threads = max(1, min(ctx.settings.gather_threads, len(plan)))
        steps = [step for _, step, _ in plan]
        if threads > 1:
            results = _run_parallel(ctx, state["alert"], steps, threads)
        else:
            results = [_run(ctx, state["alert"], step) for step in steps]
        events = [tool_event(ev, f"playbook:{typ}:{step.id}", key)
                  for (typ, step, key), ev in zip(plan, results, strict=True)]
        update["evidence"] = new_evidence(ctx, before)
        update.setdefault("trace", []).extend(events)
    return update
