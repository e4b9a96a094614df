"""The metrics a human reads first, with labels, direction and formatting (reports, compare, gate).

Direction says which way is better (+1 higher, -1 lower, 0 neither) so a comparison can say
"better"/"worse" without each caller knowing that fewer unsupported claims is good.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A headline metric."""

    key: str
    label: str
    direction: int = 1
    group: str = ""


HEADLINE: tuple[Metric, ...] = (
    Metric("accuracy", "Disposition accuracy (3-class)", 1, "disposition"),
    Metric("actionable_precision", "Actionable precision", 1, "disposition"),
    Metric("actionable_recall", "Actionable recall", 1, "disposition"),
    Metric("actionable_f1", "Actionable F1", 1, "disposition"),
    Metric("sar_recall", "SAR recall", 1, "disposition"),
    Metric("sar_caught", "SARs caught (sar or escalate)", 1, "disposition"),
    Metric("close_precision", "Close precision", 1, "disposition"),
    Metric("benign_auto_closed", "Benign alerts auto-closed", 1, "disposition"),
    Metric("errors", "Failed cases", -1, "disposition"),
    Metric("typology_macro_f1", "Typology macro-F1 (actionable)", 1, "typology"),
    Metric("typology_accuracy", "Typology accuracy (actionable)", 1, "typology"),
    Metric("txn_precision", "Flagged txn precision", 1, "evidence"),
    Metric("txn_recall", "Flagged txn recall", 1, "evidence"),
    Metric("related_recall", "Related-account recall", 1, "evidence"),
    Metric("grounding", "Narrative grounding (supported/checkable)", 1, "narrative"),
    Metric("unsupported_claims", "Unsupported claims (count)", -1, "narrative"),
    Metric("completeness", "5W+how completeness", 1, "narrative"),
    Metric("completeness_close", "  completeness, close notes", 1, "narrative"),
    Metric("completeness_escalate", "  completeness, escalations", 1, "narrative"),
    Metric("completeness_sar", "  completeness, SARs", 1, "narrative"),
    Metric("words_mean", "Narrative words (mean)", 0, "narrative"),
    Metric("action_jaccard", "Action overlap (Jaccard)", 1, "actions"),
    Metric("tool_calls_mean", "Tool calls per case", 0, "trace"),
    Metric("sql_rejected", "SQL rejected (count)", -1, "trace"),
    Metric("tokens_mean", "Tokens per case", -1, "trace"),
    Metric("seconds_mean", "Seconds per case", -1, "trace"),
    Metric("seconds_p50", "Seconds per case, median", -1, "trace"),
    Metric("seconds_p95", "Seconds per case, p95", -1, "trace"),
    Metric("judge_overall", "Judge overall (1-5)", 1, "judge"),
    Metric("judge_spread", "Judge spread (stdev)", -1, "judge"),
)
BY_KEY = {m.key: m for m in HEADLINE}


def fmt(value: float | int | None, digits: int = 3) -> str:
    """n/a for undefined, integers as is, other numbers with `digits` decimals."""
    if value is None:
        return "n/a"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 10:
        return f"{int(value)}"
    return f"{value:.{digits}f}"


def direction(key: str) -> int:
    """+1 if higher is better, -1 if lower is better, 0 if neither (unknown metrics: +1)."""
    m = BY_KEY.get(key)
    return m.direction if m else 1
