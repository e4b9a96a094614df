"""draft_narrative, verify and revise: a cited SAR narrative that survives the grounding check."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.llm.call import ModelCallFailed
from agent.narrative import build_narrative
from agent.nodes.common import ledger_map, timed
from agent.report import Verification
from agent.state import CaseState
from agent.verifier import strip_unsupported, verify
from tools.playbooks.load import PlaybookSet


def _template(state: CaseState, playbooks: PlaybookSet) -> str:
    decision = state["decision"]
    pb = playbooks.by_typology.get(decision.get("typology", ""))
    return build_narrative(state["alert"], ledger_map(state), decision, state.get("scorecards", {}),
                           pb.title if pb else None, pb.narrative.template if pb else None)


def _coherent(update: dict[str, Any], state: CaseState, template: str) -> None:
    """Replace a model summary that contradicts the decision (agent.coherence), noting and tracing it."""
    from agent.coherence import coherent_summary
    from agent.report import CaseDecision

    update["narrative"], fixed = coherent_summary(update["narrative"], template, CaseDecision(**state["decision"]),
                                                  state.get("scorecards", {}))
    if fixed:
        update.setdefault("trace", []).append(fixed)
        update["notes"] = [*update.get("notes", []), "narrative: the summary contradicted the decision and was "
                           "rewritten from the scorecard (" + "; ".join(fixed["issues"]) + ")"]


def draft_narrative(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """The driver's narrative from the template's facts: the template itself for rules, a cited summary on
    top of it for a router model, prose for a native one."""
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "draft_narrative"):
        template = _template(state, ctx.playbooks)
        try:
            text, tokens, notes = ctx.driver.write(state, ctx, template)
        except ModelCallFailed as e:
            # the template is a complete, cited narrative: a failed call costs the prose, not the case
            update["narrative"] = template
            update["trace"] = [{"model_call": "narrative", "error": str(e), "guard": "fallback",
                                "changed": "the template narrative stands"}]
            update["notes"] = [f"narrative: {e}; the template narrative stands"]
            return update
        update["narrative"] = text
        if tokens:
            update["tokens"] = tokens
        if notes:
            update["notes"] = notes
        if text != template:  # the template is coherent by construction; what a model wrote is checked
            _coherent(update, state, template)
    return update


def _will_revise(state: CaseState, ctx: InvestigationContext, unsupported: list[str]) -> bool:
    return bool(unsupported) and ctx.driver.revises and state.get("revisions", 0) < 1


def verify_narrative(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Check every claim against its cited evidence. If no revision is coming, remove what is
    unsupported (sentence by sentence, keeping paragraphs) and list it in the report."""
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "verify"):
        evidence = ledger_map(state)
        narrative = state.get("narrative", "")
        result = verify(narrative, evidence)
        revised = bool((state.get("verification") or {}).get("revised"))
        update["unsupported"] = result.unsupported
        final_unsupported = len(result.unsupported)
        if not _will_revise(state, ctx, result.unsupported) and result.unsupported:
            kept = [strip_unsupported(verify(p, evidence)) for p in narrative.split("\n\n")]
            update["narrative"] = "\n\n".join(k for k in kept if k)
            final_unsupported = len(verify(update["narrative"], evidence).unsupported)
        update["verification"] = Verification(
            claims_checked=result.checked, claims_supported=result.supported,
            unsupported=result.unsupported, revised=revised,
            uncited_sentences=sum(1 for c in result.sentences if c.claims and not c.cites),
        ).model_dump() | {"final_unsupported": final_unsupported}
    return update


def after_verify(state: CaseState, runtime: Runtime[InvestigationContext]) -> Literal["revise", "recommend"]:
    """Revise once with a model when something is unsupported; otherwise go on."""
    if _will_revise(state, runtime.context, state.get("unsupported", [])):
        return "revise"
    return "recommend"


def revise(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Ask the model once to fix the unsupported claims."""
    ctx = runtime.context
    update: dict[str, Any] = {"revisions": state.get("revisions", 0) + 1}
    with timed(update, "revise"):
        template = _template(state, ctx.playbooks)
        try:
            text, tokens, notes = ctx.driver.revise(state, ctx, template, state.get("unsupported", []))
        except ModelCallFailed as e:
            # no revision: verify, with no revision left, removes the unsupported sentences instead
            update["trace"] = [{"model_call": "revise", "error": str(e), "guard": "fallback",
                                "changed": "not revised: the unsupported sentences are removed"}]
            update["notes"] = [f"revise: {e}; the unsupported sentences are removed instead"]
            return update
        update["narrative"] = text
        update["tokens"] = tokens
        if notes:
            update["notes"] = notes
        _coherent(update, state, template)
        update["verification"] = {**(state.get("verification") or {}), "revised": True}
    return update
