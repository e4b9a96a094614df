"""What the model drivers share: the brief a model investigates from, one text call, the must-state line."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agent.prompts import fence
from agent.state import CaseState
from tools.playbooks.load import PlaybookSet


def brief(state: CaseState, evidence_texts: list[str]) -> str:
    """The context the model sees: the alert (fenced) and the evidence so far."""
    alert = state["alert"]
    head = (f"Alert {alert['alert_id']} on account {alert['account_id']}, rule {alert['rule_id']}, "
            f"raised {alert['created_at'][:19]}. Description:\n{fence(alert['description'])}\n"
            f"Candidate typologies from the playbooks: {', '.join(state.get('candidates', []))}.")
    return head + "\n\nEvidence so far:\n" + "\n\n".join(evidence_texts)


def call_text(model: Any, system: str, user: str, key: str) -> tuple[str, dict[str, int]]:
    """One text call (narrative or revision): its stripped text and `tok_<key>` token count."""
    from agent.llm.call import invoke

    msg = invoke(model, [SystemMessage(system), HumanMessage(user)], key)
    usage = getattr(msg, "usage_metadata", None) or {}
    text = msg.content if isinstance(msg.content, str) else ""
    return text.strip(), {f"tok_{key}": int(usage.get("total_tokens", 0))}


def must_state(state: CaseState, playbooks: PlaybookSet) -> str:
    """The typology's must-state list, as a line of the request."""
    pb = playbooks.by_typology.get(state["decision"]["typology"])
    return ("\nA report of this typology must state: " + "; ".join(pb.narrative.must_state) + ".") if pb else ""


def revise_whole(model: Any, narrative: str, template: str, unsupported: list[str]) -> tuple[str, dict[str, int], list[str]]:
    """The whole narrative rewritten once without its unsupported claims (kept if the model returns nothing)."""
    from agent.prompts import REVISE_SYSTEM

    problems = "\n- ".join(unsupported)
    text, tokens = call_text(model, REVISE_SYSTEM, f"NARRATIVE:\n{narrative}\n\nUNSUPPORTED CLAIMS:\n- {problems}"
                             f"\n\nFACT SHEET:\n{template}", "revise")
    return (text or narrative), tokens, []
