"""Evidence: did the agent flag the transactions and name the accounts that make the case?

Per case: precision and recall of `flagged_txn_ids` against `key_txn_ids`, and recall of
`related_accounts`. The headline metrics are means over cases (each case counts once, however many
transactions it has; a case where a metric is undefined, e.g. recall with no key transactions, is
left out of that mean). The pooled ("micro") figures are reported beside them because a run that
only gets the big cases right looks different under the two.
"""

from __future__ import annotations

from typing import Any

from agent.report import CaseReport
from evals.dataset import LabelledCase
from evals.scorers.base import Record, Scorer, mean, ratio

NAME = "evidence"


def score(case: LabelledCase, report: CaseReport | None) -> Record:
    """Counts of flagged, key and overlapping transactions; expected and found related accounts."""
    flagged = set(report.decision.flagged_txn_ids) if report is not None else set()
    key = set(case.key_txn_ids)
    related_pred = set(report.decision.related_accounts) if report is not None else set()
    related = set(case.related_accounts)
    hit = len(flagged & key)
    found = len(related_pred & related)
    return {
        "flagged": len(flagged), "key": len(key), "hit": hit,
        "txn_precision": ratio(hit, len(flagged)), "txn_recall": ratio(hit, len(key)),
        "related": len(related), "related_found": found, "related_recall": ratio(found, len(related)),
        "missed_txn_ids": sorted(key - flagged)[:20],
    }


def aggregate(records: list[Record]) -> dict[str, Any]:
    """Case-mean and pooled precision/recall of flagged transactions; related-account recall."""
    return {
        "txn_precision": mean([r["txn_precision"] for r in records]),
        "txn_recall": mean([r["txn_recall"] for r in records]),
        "related_recall": mean([r["related_recall"] for r in records]),
        "txn_precision_micro": ratio(sum(r["hit"] for r in records), sum(r["flagged"] for r in records)),
        "txn_recall_micro": ratio(sum(r["hit"] for r in records), sum(r["key"] for r in records)),
        "related_recall_micro": ratio(sum(r["related_found"] for r in records), sum(r["related"] for r in records)),
    }


def evidence_scorer() -> Scorer:
    """The evidence scorer."""
    return Scorer(NAME, score, aggregate)
