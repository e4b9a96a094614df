"""Actions: do the recommended actions match what policy expects for the case?

Jaccard overlap of the two sets of action names (|A & E| / |A | E|) per case, averaged. Both empty
counts as a match (1.0). A case whose label lists no expected actions is treated as unlabelled for
this metric (None, left out) rather than as "expects nothing": every real disposition implies at
least `close`, `escalate_l2` or `file_sar`, so an empty list is a gap in the case file.
"""

from __future__ import annotations

from typing import Any

from agent.report import CaseReport
from evals.dataset import LabelledCase
from evals.scorers.base import Record, Scorer, mean, ratio

NAME = "actions"


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b|, with two empty sets counting as identical."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def score(case: LabelledCase, report: CaseReport | None) -> Record:
    """Jaccard of predicted vs expected action names, and what was missed or extra."""
    pred = {a.action for a in report.actions} if report is not None else set()
    expected = set(case.expected_actions)
    labelled = bool(expected)
    return {
        "action_jaccard": jaccard(pred, expected) if labelled else None,
        "exact": (pred == expected) if labelled else None,
        "missing": sorted(expected - pred),
        "extra": sorted(pred - expected) if labelled else [],
    }


def aggregate(records: list[Record]) -> dict[str, Any]:
    """Mean Jaccard and exact-match rate over labelled cases."""
    scored = [r for r in records if r["action_jaccard"] is not None]
    return {
        "action_jaccard": mean([r["action_jaccard"] for r in scored]),
        "action_exact": ratio(sum(bool(r["exact"]) for r in scored), len(scored)),
        "actions_n": len(scored),
    }


def actions_scorer() -> Scorer:
    """The actions scorer."""
    return Scorer(NAME, score, aggregate)
