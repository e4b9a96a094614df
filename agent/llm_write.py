"""The model's narrative: it rewrites the template's computed facts as prose, and revises once.

The template (agent.narrative) is the fact sheet: every line already carries its citation. The
model may reorder and phrase, never add facts; the verifier removes anything it invents.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage

from agent.context import InvestigationContext
from agent.prompts import NARRATIVE_SYSTEM, REVISE_SYSTEM
from agent.state import CaseState


def _call(ctx: InvestigationContext, system: str, user: str, key: str) -> tuple[str, dict[str, int]]:
    import httpx
    import openai

    from agent.llm.router import ModelCallFailed

    try:
        msg = ctx.model.invoke([SystemMessage(system), HumanMessage(user)])
    except (openai.APIError, httpx.HTTPError) as e:
        raise ModelCallFailed(f"model call failed in {key}: {type(e).__name__}: {e}") from e
    usage = getattr(msg, "usage_metadata", None) or {}
    text = msg.content if isinstance(msg.content, str) else ""
    return text.strip(), {f"tok_{key}": int(usage.get("total_tokens", 0))}


def write_narrative(ctx: InvestigationContext, state: CaseState, template: str) -> tuple[str, dict[str, int]]:
    """The model's narrative from the template's facts (the template itself if it returns nothing)."""
    from tools.playbooks.load import load_playbooks

    decision = state["decision"]
    pb = load_playbooks().by_typology.get(decision["typology"])
    must = ("\nA report of this typology must state: " + "; ".join(pb.narrative.must_state) + ".") if pb else ""
    user = (f"Decision: {decision['disposition']}, typology {decision['typology']}.{must}\n\nFACT SHEET:\n{template}")
    text, tokens = _call(ctx, NARRATIVE_SYSTEM, user, "narrative")
    return (text or template), tokens


def revise_narrative(ctx: InvestigationContext, state: CaseState, unsupported: list[str]) -> tuple[str, dict[str, int]]:
    """One revision: the narrative, the checker's findings, and the fact sheet again."""
    from agent.nodes.narrate import _template

    user = ("NARRATIVE:\n" + state.get("narrative", "") + "\n\nUNSUPPORTED CLAIMS:\n- " + "\n- ".join(unsupported)
            + "\n\nFACT SHEET:\n" + _template(state))
    text, tokens = _call(ctx, REVISE_SYSTEM, user, "revise")
    return (text or state.get("narrative", "")), tokens
