"""The model's decision in `assess`: structured output over the facts sheet and the scorecards.

The model sees the evidence (rendered), the scorecard of each candidate playbook and the alert
(fenced). Its answer is validated: an unknown typology or an evidence id that does not exist is
dropped; a failed or invalid answer falls back to the scorecard decision (recorded in the trace).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from agent.context import InvestigationContext
from agent.prompts import ASSESS_SYSTEM, fence
from agent.report import CaseDecision
from agent.state import CaseState
from tools.evidence import Evidence
from tools.schema import TYPOLOGIES


class ModelDecision(BaseModel):
    """Decide the alert."""

    disposition: Literal["close", "escalate", "sar"] = Field(description="close, escalate or sar")
    typology: str = Field(description="typology name from the list, or none")
    risk_score: int = Field(description="0-100")
    key_evidence_ids: list[str] = Field(default_factory=list, description="evidence ids like E2")
    rationale: str = Field(description="two or three sentences citing evidence ids like [E2]")


def _tokens(msg: Any) -> int:
    usage = getattr(msg, "usage_metadata", None) or {}
    return int(usage.get("total_tokens", 0))


def facts_sheet(state: CaseState, evidence: dict[str, Evidence], cards: dict[str, Any]) -> str:
    """What the model reads: alert, evidence renderings, and the scorecards."""
    alert = state["alert"]
    parts = [f"Alert {alert['alert_id']} on {alert['account_id']} (rule {alert['rule_id']}):",
             fence(alert["description"])]
    parts += [e.brief(240) for e in evidence.values()]
    cards_sorted = sorted(cards.get("all", []), key=lambda c: (-c["signal"], -c["score"]))[:4]
    for c in cards_sorted:
        flags = "; ".join(f"{f['description']} [{', '.join(f['evidence_ids'])}]" for f in c.get("red_flags", []))
        mit = "; ".join(f"{f['description']} [{', '.join(f['evidence_ids'])}]" for f in c.get("mitigating", []))
        parts.append(f"Scorecard {c['typology']} (match {c['signal']}): score {c['score']}, suggests "
                     f"{c['disposition']}; red flags: {flags or 'none'}; mitigating: {mit or 'none'}")
    return "\n\n".join(parts)


def model_decision(ctx: InvestigationContext, state: CaseState, prior: CaseDecision, cards: dict[str, Any],
                   evidence: dict[str, Evidence]) -> tuple[CaseDecision, dict[str, int], dict[str, Any]]:
    """Ask the model for the decision; fall back to the scorecard's on an invalid answer. The third value
    is the trace record of the call: prompt version, raw output, parsed result, tokens, what was changed."""
    from langchain_core.exceptions import OutputParserException

    from agent.llm.call import invoke
    from agent.prompts import PROMPT_VERSION

    record: dict[str, Any] = {"model_call": "assess", "prompt_version": PROMPT_VERSION, "model": ctx.model_name}
    runnable = ctx.model.with_structured_output(ModelDecision, method="function_calling", include_raw=True)
    system = ASSESS_SYSTEM.format(typologies=", ".join(TYPOLOGIES))
    messages = [SystemMessage(system), HumanMessage(facts_sheet(state, evidence, cards))]
    try:
        out = invoke(runnable, messages, "assess")
    except (OutputParserException, ValidationError) as e:
        return prior, {}, {**record, "error": f"{type(e).__name__}: {str(e)[:300]}", "used": "scorecard"}
    raw = out.get("raw")
    tokens = {"tok_assess": _tokens(raw)}
    usage = getattr(raw, "usage_metadata", None) or {}
    record |= {"raw": _raw_text(raw), "tokens_in": int(usage.get("input_tokens", 0)),
               "tokens_out": int(usage.get("output_tokens", 0))}
    parsed: ModelDecision | None = out.get("parsed")
    if parsed is None:
        error = out.get("parsing_error")
        return prior, tokens, {**record, "error": str(error)[:300] if error else "no decision", "used": "scorecard"}
    record["parsed"] = parsed.model_dump()
    typology = parsed.typology if parsed.typology in TYPOLOGIES else prior.typology
    if parsed.disposition == "close":
        typology = "none"
    elif typology == "none":
        typology = prior.typology if prior.typology != "none" else (cards.get("chosen") or {}).get("typology", "none")
    ids = [i for i in parsed.key_evidence_ids if i in evidence] or prior.key_evidence_ids
    decision = CaseDecision(
        disposition=parsed.disposition, typology=typology, risk_score=max(0, min(100, parsed.risk_score)),
        key_evidence_ids=ids,
        flagged_txn_ids=prior.flagged_txn_ids if parsed.disposition != "close" else [],
        related_accounts=prior.related_accounts if parsed.disposition != "close" else [],
        rationale=parsed.rationale)
    changed = {k: [getattr(parsed, k), getattr(decision, k)] for k in ("typology", "risk_score")
               if getattr(parsed, k) != getattr(decision, k)}
    return decision, tokens, {**record, "used": "model", **({"validation_changed": changed} if changed else {})}


def _raw_text(raw: Any) -> str:
    """The model's raw reply: its tool-call arguments (structured output) or its text."""
    import json

    calls = getattr(raw, "tool_calls", None) or []
    if calls:
        return json.dumps(calls[0].get("args", {}), default=str)[:4000]
    return str(getattr(raw, "content", "") or "")[:4000]
