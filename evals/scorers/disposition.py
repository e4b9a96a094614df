"""Disposition: is the alert closed, escalated or reported as the label says?

The costly error is a missed SAR, so besides 3-class accuracy the scorer reports the binary
"actionable" view (escalate or sar vs close), SAR recall on its own, SARs caught (a true SAR
that is filed or escalated to a human, i.e. not closed), and for auto-closing, how
trustworthy a close is (close precision) and how much of the benign backlog it clears
(benign_auto_closed). A case the agent failed on has prediction "error": wrong, not actionable
and not a close, so a crash can never improve a score.
"""

from __future__ import annotations

from typing import Any

from agent.report import CaseReport
from evals.dataset import ACTIONABLE, LabelledCase
from evals.scorers.base import Record, Scorer, f1, ratio

CLASSES = ("close", "escalate", "sar")
NAME = "disposition"


def score(case: LabelledCase, report: CaseReport | None) -> Record:
    """Truth, prediction and risk score of one case."""
    pred = report.decision.disposition if report is not None else "error"
    return {
        "truth": case.disposition,
        "pred": pred,
        "correct": pred == case.disposition,
        "risk_score": report.decision.risk_score if report is not None else None,
    }


def aggregate(records: list[Record]) -> dict[str, Any]:
    """Accuracy, confusion matrix, actionable P/R/F1, SAR recall, close precision, benign closed."""
    n = len(records)
    labels = list(CLASSES) + sorted({r["pred"] for r in records} - set(CLASSES))
    confusion = {t: {p: 0 for p in labels} for t in CLASSES}
    tp = fp = fn = 0
    sar_true = sar_hit = sar_kept = close_pred = close_pred_right = close_true = 0
    for r in records:
        confusion[r["truth"]][r["pred"]] += 1
        truth_act, pred_act = r["truth"] in ACTIONABLE, r["pred"] in ACTIONABLE
        tp += truth_act and pred_act
        fp += pred_act and not truth_act
        fn += truth_act and not pred_act
        if r["truth"] == "sar":
            sar_true += 1
            sar_hit += r["pred"] == "sar"
            sar_kept += r["pred"] in ACTIONABLE
        if r["pred"] == "close":
            close_pred += 1
            close_pred_right += r["truth"] == "close"
        close_true += r["truth"] == "close"
    return {
        "n": n,
        "accuracy": ratio(sum(r["correct"] for r in records), n),
        "actionable_precision": ratio(tp, tp + fp),
        "actionable_recall": ratio(tp, tp + fn),
        "actionable_f1": f1(tp, fp, fn),
        "sar_recall": ratio(sar_hit, sar_true),
        "sar_caught": ratio(sar_kept, sar_true),
        "close_precision": ratio(close_pred_right, close_pred),
        "benign_auto_closed": ratio(confusion["close"]["close"], close_true),
        "errors": sum(r["pred"] == "error" for r in records),
        "confusion": {"labels": labels, "matrix": confusion},
    }


def disposition_scorer() -> Scorer:
    """The disposition scorer."""
    return Scorer(NAME, score, aggregate)
