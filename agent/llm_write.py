"""The model's narrative from computed facts, and its one revision.

The template (agent.narrative) is the fact sheet: every line already carries its citation. A
capable endpoint (`native` style) rewrites the whole sheet as prose. A small local model (`router`
style) writes only a short opening summary, which is prepended to the template: at the measured
~20-36 generated tokens/s on 2 cores, rewriting a 2,000-token narrative took minutes, and the
verifier removes whatever it invents either way.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agent.context import InvestigationContext
from agent.prompts import NARRATIVE_SYSTEM, REVISE_SYSTEM, SUMMARY_SYSTEM
from agent.state import CaseState
from tools.playbooks.load import PlaybookSet

SUMMARY_MAX_TOKENS = 220


def _model(ctx: InvestigationContext) -> Any:
    if ctx.style == "router" and hasattr(ctx.model, "bind"):
        return ctx.model.bind(extra_body={"max_tokens": SUMMARY_MAX_TOKENS})
    return ctx.model


def _call(ctx: InvestigationContext, system: str, user: str, key: str) -> tuple[str, dict[str, int]]:
    from agent.llm.call import invoke

    msg = invoke(_model(ctx), [SystemMessage(system), HumanMessage(user)], key)
    usage = getattr(msg, "usage_metadata", None) or {}
    text = msg.content if isinstance(msg.content, str) else ""
    return text.strip(), {f"tok_{key}": int(usage.get("total_tokens", 0))}


def _must_state(state: CaseState, playbooks: PlaybookSet) -> str:
    pb = playbooks.by_typology.get(state["decision"]["typology"])
    return ("\nA report of this typology must state: " + "; ".join(pb.narrative.must_state) + ".") if pb else ""


SENTENCE_RE = re.compile(r"(?<=[.!?\]])\s+(?=[A-Z\"'(])")
CITATION_RE = re.compile(r"\[E\d+")


def cited_sentences(text: str) -> tuple[str, int]:
    """The sentences that cite evidence, and how many did not. Measured with the bundled 1.5B model:
    most summaries began by echoing the playbook's must-state list ("what the customer said when
    contacted, if contacted") as uncited prose, which told an investigator nothing and read as a claim."""
    parts = [p for p in SENTENCE_RE.split(" ".join(text.split())) if p]
    kept = [p for p in parts if CITATION_RE.search(p)]
    return " ".join(kept), len(parts) - len(kept)


def _with_summary(text: str, template: str, fallback: str) -> tuple[str, list[str]]:
    """The model's cited summary sentences on top of the template (the fallback when none cite),
    and a note of the uncited sentences dropped (the report says what was removed)."""
    kept, dropped = cited_sentences(text.removeprefix("Summary:").strip())
    notes = [f"narrative: dropped {dropped} uncited sentence(s) of the model's summary"] if dropped else []
    return (f"Summary: {kept}\n\n{template}" if kept else fallback), notes


def write_narrative(ctx: InvestigationContext, state: CaseState,
                    template: str) -> tuple[str, dict[str, int], list[str]]:
    """The model's narrative from the template's facts (the template itself if it returns nothing),
    its token counts and notes."""
    decision = state["decision"]
    head = f"Decision: {decision['disposition']}, typology {decision['typology']}.{_must_state(state, ctx.playbooks)}"
    if ctx.style == "router":
        text, tokens = _call(ctx, SUMMARY_SYSTEM, f"{head}\n\nFACT SHEET:\n{template}", "narrative")
        narrative, notes = _with_summary(text, template, fallback=template)
        return narrative, tokens, notes
    text, tokens = _call(ctx, NARRATIVE_SYSTEM, f"{head}\n\nFACT SHEET:\n{template}", "narrative")
    return (text or template), tokens, []


def revise_narrative(ctx: InvestigationContext, state: CaseState,
                     unsupported: list[str]) -> tuple[str, dict[str, int], list[str]]:
    """One revision: the narrative (or its summary), the checker's findings, and the fact sheet again."""
    from agent.nodes.narrate import _template

    template = _template(state, ctx.playbooks)
    narrative = state.get("narrative", "")
    problems = "\n- ".join(unsupported)
    if ctx.style == "router" and narrative.startswith("Summary:"):
        summary = narrative.split("\n\n", 1)[0]
        text, tokens = _call(ctx, SUMMARY_SYSTEM + " " + REVISE_HINT,
                             f"SUMMARY:\n{summary}\n\nUNSUPPORTED CLAIMS:\n- {problems}\n\nFACT SHEET:\n{template}",
                             "revise")
        revised, notes = _with_summary(text, template, fallback=narrative)
        return revised, tokens, notes
    text, tokens = _call(ctx, REVISE_SYSTEM, f"NARRATIVE:\n{narrative}\n\nUNSUPPORTED CLAIMS:\n- {problems}"
                         f"\n\nFACT SHEET:\n{template}", "revise")
    return (text or narrative), tokens, []


REVISE_HINT = "A checker found claims that are not in the evidence they cite: fix or drop them."
