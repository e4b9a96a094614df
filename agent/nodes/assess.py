"""assess: turn the evidence into a CaseDecision.

The playbook scorecards always run (they are the rules backend's whole judgement, and the facts
sheet a model sees). The learned backend decides from its calibrated probabilities (see
`agent.learned`); with a chat model, the model decides from the facts sheet through structured
output; its decision is validated against the vocabularies. Either way a hard policy rule (e.g.
direct sanctioned exposure) can still raise the disposition, never lower it.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.involved import flagged_txns, related_accounts
from agent.nodes.common import facts_of, ledger_map, new_evidence, timed, tool_event
from agent.report import CaseDecision
from agent.scorecard import DISPOSITION_ORDER, Scorecard, choose, score_playbook
from agent.state import CaseState


def rules_decision(state: CaseState, ctx: InvestigationContext) -> tuple[CaseDecision, dict[str, Any]]:
    """The scorecard decision: best-matching typology and its policy's disposition."""
    playbooks = ctx.playbooks
    facts = facts_of(state)
    evidence = state.get("evidence", [])
    cards: list[Scorecard] = [score_playbook(playbooks.by_typology[t], facts) for t in state.get("candidates", [])]
    best = choose(cards)
    if best is None:
        return CaseDecision(disposition="escalate", typology="none", risk_score=50,
                            rationale="No playbook matched this alert; escalated for a human look."), {}
    disposition = best.disposition
    typology = best.typology if disposition != "close" else "none"
    key_ids = sorted({eid for c in best.red_flags if c.fired for eid in c.evidence_ids}, key=lambda s: int(s[1:]))
    fired = [c for c in best.red_flags if c.fired]
    mitig = [c for c in best.mitigating if c.fired]
    parts = [f"{c.description} [{', '.join(c.evidence_ids)}]" for c in fired]
    rationale = (f"Best-matching playbook: {best.playbook} (score {best.score:.0f}). "
                 + ("Red flags: " + "; ".join(parts) + ". " if parts else "No red flag fired. ")
                 + ("Mitigating: " + "; ".join(f"{c.description} [{', '.join(c.evidence_ids)}]" for c in mitig) + ". "
                    if mitig else "")
                 + (("Policy: " + "; ".join(best.hard_rules) + ".") if best.hard_rules else ""))
    decision = CaseDecision(
        disposition=disposition, typology=typology, risk_score=int(round(best.score)),
        key_evidence_ids=key_ids or ["E1"],
        flagged_txn_ids=flagged_txns(evidence, typology, state["alert"].get("txn_ids", []))
        if disposition != "close" else [],
        related_accounts=related_accounts(ctx.db, evidence, typology, state["alert"]["account_id"])
        if disposition != "close" else [],
        rationale=rationale.strip())
    return decision, {"chosen": best.as_dict(), "all": [c.as_dict() for c in cards]}


def policy_floor(decision: CaseDecision, prior: CaseDecision, cards: dict[str, Any]) -> tuple[CaseDecision, str | None]:
    """Raise a backend's decision to the chosen playbook's hard-rule floor (never lower it).

    Returns the decision and, when it was raised, a note saying so.
    """
    floor = cards.get("chosen", {}).get("hard_rules") and cards["chosen"]["disposition"]
    if not floor or DISPOSITION_ORDER[floor] <= DISPOSITION_ORDER[decision.disposition]:
        return decision, None
    # the score goes up with the disposition: a SAR at "risk 10/100" reads as a contradiction
    raised: dict[str, Any] = {"disposition": floor, "risk_score": max(decision.risk_score, prior.risk_score)}
    if decision.disposition == "close":
        # A close carries typology 'none' and no flagged ids; raised, it takes the policy's
        # typology back, so its actions are that playbook's (not the defaults).
        raised.update(typology=prior.typology, flagged_txn_ids=prior.flagged_txn_ids,
                      related_accounts=prior.related_accounts)
    return decision.model_copy(update=raised), f"the model's disposition was raised to {floor} by the playbook's hard rules"


def assess(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Rules decide alone; the learned model or a chat model decides within the policy floor.

    With a trained learned model, its prediction is recorded as evidence first: it is the learned
    backend's decision, and a chat model reads it (probabilities and top drivers) as facts.
    """
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "assess"):
        decision, cards = rules_decision(state, ctx)
        prior = decision
        model_decides = ctx.model is not None and ctx.model_decides  # else the learned model or the scorecards
        if ctx.learned is not None:
            from agent.learned.decide import learned_decision, learned_summary, record_prediction

            before = len(ctx.ledger)
            pred, ev = record_prediction(ctx, ctx.learned, state["alert_id"])
            update["evidence"] = new_evidence(ctx, before)
            update.setdefault("trace", []).append(tool_event(ev, "learned"))
            cards = {**cards, "learned": learned_summary(pred, ev)}
            if not model_decides:
                decision = learned_decision(ctx, state, pred, ev)
        if model_decides:
            from agent.llm_decide import model_decision

            evidence = ledger_map({"evidence": [*state.get("evidence", []), *update.get("evidence", [])]})
            decision, tokens, record = model_decision(ctx, state, prior, cards, evidence)
            update["tokens"] = tokens
            update.setdefault("trace", []).append(record)
        elif ctx.model is not None:
            update.setdefault("trace", []).append(
                {"guard": "decision_owner", "note": f"{ctx.model_name} does not decide; the "
                 + ("learned model's" if ctx.learned is not None else "scorecards'") + " decision stands"})
        if decision is not prior:
            before = decision
            decision, note = policy_floor(decision, prior, cards)
            if note:
                update.setdefault("notes", []).append(f"assess: {note}")
                update.setdefault("trace", []).append(
                    {"guard": "policy_floor", "note": note, "before": {"disposition": before.disposition,
                                                                       "risk_score": before.risk_score},
                     "after": {"disposition": decision.disposition, "risk_score": decision.risk_score}})
        from agent.coherence import make_coherent

        # a model's rationale is checked against the final decision (templates are coherent by construction)
        decision, fixed = make_coherent(decision, cards) if model_decides else (decision, None)
        if fixed:
            update.setdefault("trace", []).append(fixed)
            update.setdefault("notes", []).append("assess: the rationale contradicted the decision and was rewritten "
                                                  "from the scorecard (" + "; ".join(fixed["issues"]) + ")")
        update["decision"] = decision.model_dump()
        update["scorecards"] = cards
    return update
