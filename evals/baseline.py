"""Trivial baselines: what a run scores with no investigation at all, for the README's comparison.

`escalate-all` escalates every alert. It runs without the graph and without a workspace: a
constant `CaseReport` per alert. Its typology is `none`: a baseline that named the most common
actionable typology would be reading the labels it is scored on, so it claims no knowledge. Its
actions are the default escalate policy (`escalate_l2`, `request_information`), its narrative is
empty (grounding undefined, completeness 0) and its risk score is a constant 50.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.report import Action, CaseDecision, CaseReport

BASELINE_STYLE = "baseline"


def escalate_all(alert_id: str) -> CaseReport:
    """The constant escalate report for one alert."""
    return CaseReport(
        case_id=alert_id,
        alert={"alert_id": alert_id},
        decision=CaseDecision(disposition="escalate", typology="none", risk_score=50,
                              rationale="Baseline: every alert is escalated without investigation."),
        actions=[Action(index=1, action="escalate_l2", reason="baseline"),
                 Action(index=2, action="request_information", reason="baseline")],
        model="escalate-all",
        style=BASELINE_STYLE,
        timings_ms={"total": 0.0},
    )


BASELINES: dict[str, Callable[[str], CaseReport]] = {"escalate-all": escalate_all}
