"""What the Markdown and HTML reports show, computed once from a run log (no I/O here)."""

from __future__ import annotations

from typing import Any

from evals.headline import HEADLINE, fmt
from evals.log import RunLog
from evals.scorers.base import flat_metrics
from evals.worst import worst_cases

DISPOSITIONS = ("close", "escalate", "sar")


def case_link(alert_id: str, links: dict[str, str]) -> str | None:
    """Relative link to a case's file in the run folder, when one was written."""
    return links.get(alert_id)


def report_context(log: RunLog, links: dict[str, str] | None = None, worst_n: int = 15) -> dict[str, Any]:
    """Everything the report templates need, as plain values."""
    links = links or {}
    flat = flat_metrics(log.metrics)
    headline = [{"key": m.key, "label": m.label, "value": fmt(flat[m.key]), "group": m.group}
                for m in HEADLINE if m.key in flat]
    disp = log.metrics.get("disposition", {})
    conf = disp.get("confusion", {"labels": list(DISPOSITIONS), "matrix": {}})
    confusion = [{"truth": t, "cells": [conf["matrix"].get(t, {}).get(p, 0) for p in conf["labels"]]}
                 for t in DISPOSITIONS]
    typ = [{**r, "precision": fmt(r["precision"]), "recall": fmt(r["recall"]), "f1": fmt(r["f1"])}
           for r in log.metrics.get("typology", {}).get("per_typology", [])]
    nar = log.metrics.get("narrative", {})
    checks = [{"check": k, "rate": fmt(v)} for k, v in (nar.get("completeness_checks") or {}).items()]
    worst = [{"alert_id": f.alert_id, "cost": f.cost, "reasons": f.reasons, "link": case_link(f.alert_id, links),
              "truth": next(c.label.disposition for c in log.cases if c.alert_id == f.alert_id),
              "pred": next((c.report.decision.disposition if c.report else "error")
                           for c in log.cases if c.alert_id == f.alert_id)}
             for f in worst_cases(log.cases, worst_n)]
    cases = []
    for c in log.cases:
        r = c.report
        cases.append({
            "alert_id": c.alert_id, "truth": c.label.disposition, "truth_typology": c.label.typology,
            "pred": r.decision.disposition if r else "error", "pred_typology": r.decision.typology if r else "",
            "risk": r.decision.risk_score if r else "", "correct": bool(r) and r.decision.disposition == c.label.disposition,
            "completeness": fmt(c.scores.get("narrative", {}).get("completeness")),
            "unsupported": c.scores.get("narrative", {}).get("unsupported", 0),
            "seconds": fmt(c.seconds), "link": case_link(c.alert_id, links), "error": c.error or ""})
    return {
        "log": log, "headline": headline, "confusion_labels": conf["labels"], "confusion": confusion,
        "per_typology": typ, "checks": checks, "worst": worst, "cases": cases,
        "prompt_versions": ", ".join(log.prompt_versions) or "n/a",
        "playbook_versions": ", ".join(log.playbook_versions) or "n/a",
        "code": log.code.describe or log.code.commit or "unknown",
        "tokens_by_kind": ", ".join(f"{k}={v}" for k, v in sorted(log.tokens.by_kind.items())) or "none",
    }
