"""The scorer contract, in the spirit of inspect_ai: a scorer is a small factory's product.

`score(case, report)` turns one labelled case and the agent's report (None when the agent failed
on that case) into a flat, JSON-able record. `aggregate(records)` turns a list of such records
into the run's metrics. Aggregation reads *only* the records, never the reports: that is what lets
`eval compare` recompute every metric on bootstrap resamples of a saved run log, and `eval report`
rebuild a report without re-running anything. So each record carries the labels it needs.

Metric names are unique across scorers (the gate and the comparison use a flat namespace).
A metric that cannot be computed (a recall with no positives) is None, never a made-up 0 or 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.report import CaseReport
from evals.dataset import LabelledCase

Record = dict[str, Any]
ScoreFn = Callable[[LabelledCase, CaseReport | None], Record]
AggregateFn = Callable[[list[Record]], dict[str, Any]]


@dataclass(frozen=True)
class Scorer:
    """A named pair of functions: per-case score and run-level aggregate."""

    name: str
    score: ScoreFn
    aggregate: AggregateFn


def ratio(num: float, den: float) -> float | None:
    """num/den, or None when the denominator is empty (the metric is undefined, not zero)."""
    return num / den if den else None


def f1(tp: int, fp: int, fn: int) -> float | None:
    """F1 as 2tp / (2tp + fp + fn): 0 when there were positives and none was found, None when there
    were neither positives nor predictions (nothing to be right or wrong about)."""
    den = 2 * tp + fp + fn
    return 2 * tp / den if den else None


def mean(values: list[float | None]) -> float | None:
    """Mean of the defined values, None if there are none."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def stdev(values: list[float]) -> float | None:
    """Sample standard deviation (n-1), None for fewer than two values."""
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def quantile(values: list[float], q: float) -> float | None:
    """Linear-interpolated quantile (numpy's default), None for no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def flat_metrics(metrics: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The scalar metrics of every scorer in one namespace (tables and nested values left out)."""
    out: dict[str, float | None] = {}
    for agg in metrics.values():
        for key, value in agg.items():
            if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
                out[key] = value
    return out
