"""Hand-made labelled cases and agent reports for the eval harness tests (no workspace, no model)."""

from __future__ import annotations

from typing import Any

from agent.report import Action, CaseDecision, CaseReport
from evals.dataset import LabelledCase
from tools.evidence import Evidence


def case(alert_id: str, disposition: str, typology: str = "none", key: list[str] | None = None,
         related: list[str] | None = None, actions: list[str] | None = None) -> LabelledCase:
    """A labelled case with only what a test needs."""
    return LabelledCase(alert_id=alert_id, disposition=disposition, typology=typology, key_txn_ids=key or [],
                        related_accounts=related or [], expected_actions=actions or [])


def report(alert_id: str, disposition: str, typology: str = "none", *, risk: int = 50,
           flagged: list[str] | None = None, related: list[str] | None = None, narrative: str = "",
           evidence: list[Evidence] | None = None, actions: list[str] | None = None,
           trace: list[dict[str, Any]] | None = None, tokens: dict[str, int] | None = None,
           timings: dict[str, float] | None = None, account: str = "ACC-000123", model: str = "rules") -> CaseReport:
    """An agent report with only what a test needs."""
    return CaseReport(
        case_id=alert_id, alert={"alert_id": alert_id, "account_id": account},
        decision=CaseDecision(disposition=disposition, typology=typology, risk_score=risk,  # type: ignore[arg-type]
                              flagged_txn_ids=flagged or [], related_accounts=related or []),
        narrative=narrative, evidence=evidence or [],
        actions=[Action(index=i, action=a) for i, a in enumerate(actions or [], start=1)],
        trace=trace or [], tokens=tokens or {}, timings_ms=timings or {}, model=model,
        prompt_version="p1", playbook_version="b1")


def structuring_evidence() -> list[Evidence]:
    """A profile (country DE) and three deposits just under USD 10,000 into ACC-000123."""
    return [
        Evidence(id="E1", tool="profile", args={"account_id": "ACC-000123"}, facts={"country": "DE", "kyc_level": 2},
                 summary="Account ACC-000123, individual, DE"),
        Evidence(id="E2", tool="sql", columns=["txn_id", "ts", "kind", "amount_usd", "dst"],
                 rows=[["TX-1", "2024-03-02 10:00:00", "fiat_deposit", 9450.0, "ACC-000123"],
                       ["TX-2", "2024-03-03 11:00:00", "fiat_deposit", 9400.0, "ACC-000123"],
                       ["TX-3", "2024-03-04 09:00:00", "fiat_deposit", 9500.0, "ACC-000123"]],
                 row_count=3, facts={"total_usd": 28350.0}),
    ]


#: Grounded except "USD 10,000" (not in E2); complete on all six checks; 39 words.
SAR_NARRATIVE = (
    "Account ACC-000123 received three cash deposits totalling USD 28,350 between 2024-03-02 and 2024-03-04 [E2]. "
    "Each deposit was just under the USD 10,000 reporting threshold, a red flag for structuring [E2]. "
    "The funds were then withdrawn to an external address on ethereum [E3]."
)
#: No checkable claim; only the red-flags check passes ("mitigating"); 11 words.
CLOSE_NOTE = "The activity matches the customer's declared payroll income, a mitigating factor."
