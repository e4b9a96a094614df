"""retrieve_playbooks: find the playbooks for this alert (retrieval plus the rule's known triggers)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import timed
from agent.state import CaseState
from tools.playbooks.load import PlaybookSet
from tools.playbooks.retrieve import Passage
from tools.settings import Settings


def candidates_for(alert: dict[str, Any], playbooks: PlaybookSet, k: int,
                   settings: Settings) -> tuple[str, list[str], list[Passage]]:
    """(query, candidate typologies, passages): the top-k retrieved playbooks, plus any whose
    triggers name the rule (all playbooks, retrieved ones first, when no playbook knows the rule).
    A batch asks it too, to run its cases' SQL steps together (agent/bulk.py)."""
    from tools.playbooks.retrieve import alert_query, search_playbooks

    query = alert_query(alert["rule_id"], alert["description"])
    passages = search_playbooks(query, k=max(8, k * 3), settings=settings)
    ranked: list[str] = []
    for p in passages:
        if p.typology in playbooks.by_typology and p.typology not in ranked:
            ranked.append(p.typology)
    triggered = [t for t, pb in playbooks.by_typology.items() if alert["rule_id"] in pb.triggers]
    candidates = ranked[:k] + [t for t in triggered if t not in ranked[:k]]
    if not triggered:
        # A rule no playbook knows, with a description that may be vague ("network anomaly, score 75"):
        # the retrieved playbooks lead, and every other typology's scorecard is still run so the
        # evidence, not the vendor's wording, decides.
        candidates += [t for t in ranked if t not in candidates]
        candidates += [t for t in playbooks.by_typology if t not in candidates]
    return query, candidates, passages


HELD_KIND = "candidates"


def retrieve_playbooks(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Candidate typologies and the passages that cite them (`candidates_for`, or what the case's
    batch worked out with it: agent/bulk.py)."""
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "retrieve_playbooks"):
        alert = state["alert"]
        chosen = ctx.db.held.take(HELD_KIND, (alert["alert_id"], ctx.playbook_k))
        query, candidates, passages = chosen or candidates_for(alert, ctx.playbooks, ctx.playbook_k, ctx.settings)
        update["candidates"] = candidates
        update["passages"] = [p.as_dict() for p in passages[: ctx.playbook_k]]
        update.setdefault("trace", []).append(
            {"tool": "playbooks", "args": {"query": query[:200]}, "candidates": candidates,
             "citations": [p.citation for p in passages[: ctx.playbook_k]]})
    return update
