"""The report's pictures as inline base64 PNG (so report.html is one self-contained file).

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global state), so
it works in a worker, a CI box or a test. Each function returns None when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evals.log import RunLog

DISPOSITIONS = ("close", "escalate", "sar")
COLOURS = {"close": "#4c9a2a", "escalate": "#e0a100", "sar": "#c0392b", "error": "#777777"}


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_png(confusion: dict[str, Any]) -> str | None:
    """Truth (rows) by prediction (columns), with counts in the cells."""
    labels, matrix = confusion["labels"], confusion["matrix"]
    rows = [[matrix[t][p] for p in labels] for t in DISPOSITIONS]
    if not any(any(r) for r in rows):
        return None
    fig = Figure(figsize=(3.8 + 0.6 * (len(labels) - 3), 3.2))
    ax = fig.add_subplot()
    ax.imshow(rows, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(DISPOSITIONS)), DISPOSITIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    top = max(max(r) for r in rows)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title("Disposition confusion matrix")
    return _png(fig)


def typology_png(per_typology: list[dict[str, Any]]) -> str | None:
    """F1 per typology (actionable cases), support in the labels."""
    rows = [r for r in per_typology if r["support"] > 0]
    if not rows:
        return None
    fig = Figure(figsize=(6.5, 0.35 * len(rows) + 1.2))
    ax = fig.add_subplot()
    names = [f"{r['typology']} (n={r['support']})" for r in rows]
    values = [r["f1"] or 0.0 for r in rows]
    ax.barh(names, values, color="#2e6da4")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("F1")
    ax.set_title("Typology F1 (actionable cases)")
    return _png(fig)


def distributions_png(log: RunLog) -> str | None:
    """Risk score by true disposition, and narrative completeness by predicted disposition."""
    risk = {d: [] for d in DISPOSITIONS}
    comp = {d: [] for d in DISPOSITIONS}
    for c in log.cases:
        if c.report is None:
            continue
        risk[c.label.disposition].append(c.report.decision.risk_score)
        nar = c.scores.get("narrative")
        if nar is not None and c.report.decision.disposition in comp:
            comp[c.report.decision.disposition].append(nar["completeness"])
    if not any(risk.values()):
        return None
    fig = Figure(figsize=(8, 3.2))
    for k, (data, title, ylabel, ylim) in enumerate((
            (risk, "Risk score by true disposition", "risk score", (0, 100)),
            (comp, "Completeness by predicted disposition", "completeness", (0, 1.05)))):
        ax = fig.add_subplot(1, 2, k + 1)
        present = [d for d in DISPOSITIONS if data[d]]
        if present:
            ax.boxplot([data[d] for d in present], tick_labels=[f"{d}\n(n={len(data[d])})" for d in present])
        ax.set_ylim(*ylim)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
    return _png(fig)


def calibration_bins(log: RunLog, width: int = 10) -> list[dict[str, Any]]:
    """Cases binned by risk score: per bin the count and the share truly actionable."""
    bins: dict[int, list[bool]] = {}
    for c in log.cases:
        if c.report is not None:
            b = min(c.report.decision.risk_score // width, 100 // width - 1)
            bins.setdefault(b, []).append(c.label.actionable)
    return [{"lo": b * width, "hi": (b + 1) * width, "n": len(v), "actionable_rate": sum(v) / len(v)}
            for b, v in sorted(bins.items())]


def calibration_png(log: RunLog) -> str | None:
    """Share of truly actionable cases per risk-score bin against the diagonal."""
    bins = calibration_bins(log)
    if not bins:
        return None
    fig = Figure(figsize=(4.5, 3.6))
    ax = fig.add_subplot()
    xs = [(b["lo"] + b["hi"]) / 2 for b in bins]
    ax.plot([0, 100], [0, 1], linestyle="--", color="#999999", label="risk/100")
    ax.scatter(xs, [b["actionable_rate"] for b in bins], s=[20 + 4 * b["n"] for b in bins], color="#c0392b",
               label="actionable rate")
    for x, b in zip(xs, bins, strict=True):
        ax.annotate(str(b["n"]), (x, b["actionable_rate"]), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.05, 1.1)
    ax.set_xlabel("risk score")
    ax.set_ylabel("truly actionable")
    ax.set_title("Calibration of risk score")
    ax.legend(fontsize=7, loc="upper left")
    return _png(fig)


def all_plots(log: RunLog) -> dict[str, str | None]:
    """Every plot of the report, by name."""
    disp = log.metrics.get("disposition", {})
    typ = log.metrics.get("typology", {})
    return {
        "confusion": confusion_png(disp["confusion"]) if "confusion" in disp else None,
        "typology": typology_png(typ.get("per_typology", [])),
        "distributions": distributions_png(log),
        "calibration": calibration_png(log),
    }
