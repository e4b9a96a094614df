"""Typology: among alerts that truly need action, did the agent name the right scheme?

Scored on actionable cases only (truth escalate or sar): a benign alert has typology 'none' and is
the disposition scorer's business. Macro-F1 averages the F1 of each typology *present in the truth
of the scored cases*, so a rare scheme counts as much as a common one. A wrong prediction already
costs the true class its recall and the predicted class its precision; a predicted label that never
occurs in the truth (an invented 'ponzi', say) is listed in the per-typology table with support 0
and counted in `typology_unknown_predicted` when it is outside the vocabulary, but it does not add a
zero class to the macro average (sklearn's `labels=` convention), so two wrong guesses of different
made-up names do not score worse than two of the same one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.report import CaseReport
from evals.dataset import LabelledCase
from evals.scorers.base import Record, Scorer, f1, ratio
from tools.schema import TYPOLOGIES

NAME = "typology"


def score(case: LabelledCase, report: CaseReport | None) -> Record:
    """Truth and predicted typology, and whether the case is in scope (actionable truth)."""
    pred = report.decision.typology if report is not None else "error"
    return {"truth": case.typology, "pred": pred, "actionable": case.actionable, "correct": pred == case.typology}


def aggregate(records: list[Record]) -> dict[str, Any]:
    """Macro-F1 and accuracy over actionable cases, and a per-typology table (one pass: bootstraps call this a lot)."""
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    unknown = 0
    for r in records:
        if not r["actionable"]:
            continue
        truth, pred = r["truth"], r["pred"]
        support[truth] += 1
        predicted[pred] += 1
        if truth == pred:
            hits[truth] += 1
        unknown += pred not in TYPOLOGIES and pred != "error"
    n = sum(support.values())
    truth_labels = sorted(support)
    labels = truth_labels + sorted(set(predicted) - set(support))
    table: list[dict[str, Any]] = []
    f1s: list[float] = []
    for label in labels:
        tp = hits[label]
        fp, fn = predicted[label] - tp, support[label] - tp
        row_f1 = f1(tp, fp, fn)
        table.append({"typology": label, "support": support[label], "predicted": predicted[label], "tp": tp,
                      "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn), "f1": row_f1,
                      "in_vocabulary": label in TYPOLOGIES})
        if label in support and row_f1 is not None:
            f1s.append(row_f1)
    return {
        "typology_n": n,
        "typology_macro_f1": sum(f1s) / len(f1s) if f1s else None,
        "typology_accuracy": ratio(sum(hits.values()), n),
        "typology_unknown_predicted": unknown,
        "per_typology": table,
    }


def typology_scorer() -> Scorer:
    """The typology scorer."""
    return Scorer(NAME, score, aggregate)
