"""A deterministic check that a model's rationale and case summary do not contradict the decision, in the
spirit of the verifier: the disposition words they use, the red flags they deny, the typology they name.

Why: a model's rationale is written before the playbook floor may raise its disposition ("The alert is
closed ... There are no red flags" on a SAR with five red flags), and the narrative's opening summary is
what a reader sees first under the decision panel. Incoherent text is replaced by text written from the
decision and its scorecard, and the trace says what was replaced and why.
"""

from __future__ import annotations

import re
from typing import Any

from agent.report import CaseDecision
from tools.schema import TYPOLOGIES

DISPOSITION_WORDS = {
    "close": re.compile(r"\b(?:(?:is|be|was|been|being|should be|can be) closed|close (?:the|this) alert|"
                        r"no further action|false positive|not suspicious|no suspicion|benign|dismiss\w*)\b", re.I),
    "escalate": re.compile(r"\b(?:escalat(?:e|ed|ing|ion) (?:the |this )?(?:alert|case|it)|escalate to|escalation to|"
                           r"(?:should|must|will) be escalated|level 2 review|l2 review)\b", re.I),
    "sar": re.compile(r"\b(?:file a sar|sar (?:is|should be) filed|filing a sar|suspicious activity report)\b", re.I),
}
NO_FLAGS_RE = re.compile(r"\b(?:no red flags?|no (?:suspicious|unusual) (?:activity|indicators?)|nothing suspicious|"
                         r"no indicators? of|no evidence of (?:suspicious|illicit))\b", re.I)
WORDING = {"close": "Close", "escalate": "Escalate to level 2", "sar": "File a SAR"}


def _typology_names(text: str) -> set[str]:
    low = text.lower()
    return {t for t in TYPOLOGIES if t != "none" and (t in low or t.replace("_", " ") in low)}


def coherence_issues(rationale: str, decision: CaseDecision, red_flags: list[dict[str, Any]]) -> list[str]:
    """What in the rationale contradicts the decision (empty when coherent)."""
    issues = []
    for disposition, pattern in DISPOSITION_WORDS.items():
        if disposition != decision.disposition and (m := pattern.search(rationale)):
            issues.append(f"says '{m.group(0)}' but the disposition is {decision.disposition}")
    if decision.disposition != "close" and red_flags and (m := NO_FLAGS_RE.search(rationale)):
        issues.append(f"says '{m.group(0)}' but {len(red_flags)} red flag(s) were found")
    named = _typology_names(rationale)
    if decision.typology != "none" and len(named) == 1 and decision.typology not in named:
        issues.append(f"names typology {named.pop()} but the decision's is {decision.typology}")
    return issues


def decision_rationale(decision: CaseDecision, red_flags: list[dict[str, Any]]) -> str:
    """A rationale written from the decision and its scorecard's red flags (with their evidence ids)."""
    head = f"{WORDING[decision.disposition]}"
    if decision.typology != "none":
        head += f" for {decision.typology.replace('_', ' ')}"
    head += f" (risk {decision.risk_score}/100)."
    if decision.disposition != "close" and red_flags:
        flags = "; ".join(f"{f['description']} [{', '.join(f.get('evidence_ids') or [])}]".replace(" []", "")
                          for f in red_flags[:5])
        return f"{head} Red flags: {flags}."
    return head


def _flags(decision: CaseDecision, cards: dict[str, Any]) -> list[dict[str, Any]]:
    """The red flags of the scorecard behind the decision (none when the decision's typology is another's)."""
    chosen = cards.get("chosen") or {}
    return list(chosen.get("red_flags") or []) if chosen.get("typology") == decision.typology else []


def make_coherent(decision: CaseDecision, cards: dict[str, Any]) -> tuple[CaseDecision, dict[str, Any] | None]:
    """The decision with a coherent rationale, and a trace record when the rationale had to be replaced."""
    flags = _flags(decision, cards)
    issues = coherence_issues(decision.rationale, decision, flags)
    if not issues:
        return decision, None
    fixed = decision.model_copy(update={"rationale": decision_rationale(decision, flags)})
    return fixed, {"guard": "coherence", "text": "rationale", "issues": issues,
                   "rationale_before": decision.rationale, "rationale_after": fixed.rationale}


def coherent_summary(narrative: str, template: str, decision: CaseDecision,
                     cards: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The narrative with a coherent opening summary, and a trace record when it had to be replaced.

    The summary is the model's opening paragraph: the "Summary:" line a router-style model puts on top of
    the template, or the first paragraph of a native model's prose. The template's own opening is
    coherent by construction and left alone."""
    opening, sep, rest = narrative.partition("\n\n")
    if not opening.strip() or opening == template.partition("\n\n")[0]:
        return narrative, None
    flags = _flags(decision, cards)
    issues = coherence_issues(opening, decision, flags)
    if not issues:
        return narrative, None
    prefix = "Summary: " if opening.startswith("Summary:") else ""
    after = prefix + decision_rationale(decision, flags)
    return after + sep + rest, {"guard": "coherence", "text": "summary", "issues": issues,
                                "summary_before": opening, "summary_after": after}
