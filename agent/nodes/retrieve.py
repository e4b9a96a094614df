"""retrieve_playbooks: find the playbooks for this alert (retrieval plus the rule's known triggers)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import timed
from agent.state import CaseState


def retrieve_playbooks(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Candidate typologies: the top-k retrieved playbooks, plus any whose triggers name the rule
    (all playbooks, retrieved ones first, when no playbook knows the rule)."""
    from tools.playbooks.retrieve import alert_query, search_playbooks

    ctx = runtime.context
    alert = state["alert"]
    update: dict[str, Any] = {}
    with timed(update, "retrieve_playbooks"):
        playbooks = ctx.playbooks
        query = alert_query(alert["rule_id"], alert["description"])
        passages = search_playbooks(query, k=max(8, ctx.playbook_k * 3), settings=ctx.settings)
        ranked: list[str] = []
        for p in passages:
            if p.typology in playbooks.by_typology and p.typology not in ranked:
                ranked.append(p.typology)
        triggered = [t for t, pb in playbooks.by_typology.items() if alert["rule_id"] in pb.triggers]
        candidates = ranked[: ctx.playbook_k] + [t for t in triggered if t not in ranked[: ctx.playbook_k]]
        if not triggered:
            # A rule no playbook knows, with a description that may be vague ("network anomaly, score 75"):
            # the retrieved playbooks lead, and every other typology's scorecard is still run so the
            # evidence, not the vendor's wording, decides.
            candidates += [t for t in ranked if t not in candidates]
            candidates += [t for t in playbooks.by_typology if t not in candidates]
        update["candidates"] = candidates
        update["passages"] = [p.as_dict() for p in passages[: ctx.playbook_k]]
        update.setdefault("trace", []).append(
            {"tool": "playbooks", "args": {"query": query[:200]}, "candidates": candidates,
             "citations": [p.citation for p in passages[: ctx.playbook_k]]})
    return update
