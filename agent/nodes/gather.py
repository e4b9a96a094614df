"""gather_evidence: run the evidence steps the candidate playbooks name, once each.

Every case gets these baseline facts whatever the model later does.
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import new_evidence, timed, tool_event
from agent.state import CaseState
from agent.steps import run_step

FACTLESS_TOOLS = ("trace",)


def gather_evidence(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Run the union of the candidates' evidence steps (deduplicated by tool and arguments)."""
    from tools.playbooks.load import load_playbooks

    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "gather_evidence"):
        before = len(ctx.ledger)
        playbooks = load_playbooks()
        seen: set[str] = set()
        events = []
        for typ in state.get("candidates", []):
            for step in playbooks.by_typology[typ].evidence_steps:
                if ctx.model is None and step.tool in FACTLESS_TOOLS:
                    continue
                key = json.dumps([step.tool, step.args], sort_keys=True, default=str)
                if key in seen:
                    continue
                seen.add(key)
                ev = run_step(ctx, state["alert"], step.tool, step.args)
                if step.tool == "sql" and not ev.error:
                    first = dict(zip(ev.columns, ev.rows[0], strict=False)) if ev.rows else {}
                    ev.facts = {name: first.get(name, 0) for name in step.facts}
                events.append(tool_event(ev, f"playbook:{typ}:{step.id}"))
        update["evidence"] = new_evidence(ctx, before)
        update.setdefault("trace", []).extend(events)
    return update
