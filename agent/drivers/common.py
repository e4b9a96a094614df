"""What the model drivers share: the brief a model investigates from, one text call, the must-state line."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agent.drivers import Written
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


def narrative_request(state: CaseState, playbooks: PlaybookSet, template: str) -> str:
    """What a model writes the narrative from: the decision, the typology's must-state list, the fact sheet."""
    decision = state["decision"]
    pb = playbooks.by_typology.get(decision["typology"])
    must = ("\nA report of this typology must state: " + "; ".join(pb.narrative.must_state) + ".") if pb else ""
    return f"Decision: {decision['disposition']}, typology {decision['typology']}.{must}\n\nFACT SHEET:\n{template}"


def stopped_by_failure(update: dict[str, Any], record: dict[str, Any], error: Exception) -> None:
    """A failed model call ends an investigation loop, not the case: its trace record and a note."""
    update.setdefault("trace", []).append({**record, "error": str(error)})
    update.setdefault("notes", []).append(f"investigate stopped: {error}")


def end_loop(update: dict[str, Any], finished: bool, steps: int, tokens: int) -> None:
    """What every investigation loop reports: its steps and tokens, and a note when the budget ended it."""
    if not finished:
        update.setdefault("notes", []).append(f"investigate stopped at the budget ({steps} steps, {tokens} tokens)")
    update["steps_taken"] = steps
    update["tokens"] = {"tok_investigate": tokens}


def revise_whole(model: Any, narrative: str, template: str, unsupported: list[str]) -> Written:
    """The whole narrative rewritten once without its unsupported claims (kept if the model returns nothing)."""
    from agent.prompts import REVISE_SYSTEM

    problems = "\n- ".join(unsupported)
    text, tokens = call_text(model, REVISE_SYSTEM, f"NARRATIVE:\n{narrative}\n\nUNSUPPORTED CLAIMS:\n- {problems}"
                             f"\n\nFACT SHEET:\n{template}", "revise")
    return (text or narrative), tokens, []
