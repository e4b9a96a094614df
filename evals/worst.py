"""Which cases a reviewer should look at first: ranked by how costly the agent's mistakes were.

The order follows what an AML team pays for: a missed SAR first, then other missed actionable
alerts, then a SAR downgraded to an escalation, a benign alert escalated, an escalation upgraded to
a SAR; then softer faults (wrong typology, unsupported claims, missing evidence, incomplete text).
A failed case ranks above everything: nobody looked at that alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.log import CaseRecord

_DISPOSITION_COST = {  # (truth, predicted) -> cost
    ("sar", "close"): 10.0, ("escalate", "close"): 6.0, ("sar", "escalate"): 4.0,
    ("close", "sar"): 3.0, ("close", "escalate"): 2.0, ("escalate", "sar"): 1.0,
}


@dataclass(frozen=True)
class Finding:
    """A case's cost and the reasons for it, for the report."""

    alert_id: str
    cost: float
    reasons: list[str]


def assess(rec: CaseRecord) -> Finding:
    """The cost of one case and why."""
    if rec.report is None:
        return Finding(rec.alert_id, 20.0, [f"failed: {rec.error or 'no report'}"])
    truth, pred = rec.label.disposition, rec.report.decision.disposition
    cost = _DISPOSITION_COST.get((truth, pred), 0.0)
    reasons = [f"{truth} predicted {pred}"] if cost else []
    typ = rec.scores.get("typology", {})
    if typ.get("actionable") and not typ.get("correct"):
        cost += 1.0
        reasons.append(f"typology {typ.get('pred')} (truth {typ.get('truth')})")
    nar = rec.scores.get("narrative", {})
    if nar.get("unsupported"):
        cost += 0.5 * min(nar["unsupported"], 4)
        reasons.append(f"{nar['unsupported']} unsupported claim(s)")
    ev = rec.scores.get("evidence", {})
    if ev.get("txn_recall") is not None and ev["txn_recall"] < 1.0:
        cost += 0.5 * (1.0 - ev["txn_recall"])
        reasons.append(f"txn recall {ev['txn_recall']:.2f}")
    if nar.get("completeness") is not None and nar["completeness"] < 1.0:
        cost += 0.25 * (1.0 - nar["completeness"])
        missing = [k for k, v in (nar.get("checks") or {}).items() if not v]
        reasons.append("narrative lacks " + ", ".join(missing) if missing else "incomplete narrative")
    return Finding(rec.alert_id, round(cost, 3), reasons)


def worst_cases(cases: list[CaseRecord], n: int = 15) -> list[Finding]:
    """The `n` costliest cases with any fault, costliest first (ties by alert id)."""
    findings = [f for f in (assess(c) for c in cases) if f.cost > 0]
    return sorted(findings, key=lambda f: (-f.cost, f.alert_id))[:n]
