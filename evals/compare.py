"""`sleuth eval compare A B`: what changed between two runs, and is it more than noise?

Runs are paired case by case (by alert id). For every headline metric the delta (B - A) gets a
95% confidence interval from a paired bootstrap: resample the cases with replacement (fixed seed,
2000 resamples by default), recompute *both* runs' metrics on the same resample from their
per-case records with the scorers' own aggregate functions, and take the 2.5th and 97.5th
percentiles of the differences. Pairing matters: the two runs saw the same alerts, so the noise
of "which alerts happened to be in the set" cancels out. A resample where a metric is undefined
(no SAR drawn, say) is skipped for that metric; `n_valid` says how many counted.

For disposition correctness McNemar's test asks whether right->wrong and wrong->right flips are
balanced: exact two-sided binomial below 25 discordant cases, chi-square with continuity
correction from there on. The flipped cases are listed by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evals.headline import HEADLINE, direction
from evals.log import RunLog
from evals.scorers import AGGREGATORS
from evals.scorers.base import flat_metrics
from tools.errors import InputInvalid

RESAMPLES = 2000
SEED = 20240601
EXACT_BELOW = 25


@dataclass
class MetricDelta:
    """One metric in both runs, the change and its bootstrap interval."""

    key: str
    label: str
    a: float | None
    b: float | None
    delta: float | None
    lo: float | None
    hi: float | None
    n_valid: int
    direction: int

    @property
    def significant(self) -> bool:
        """True when the 95% interval excludes 0."""
        return self.lo is not None and self.hi is not None and (self.lo > 0 or self.hi < 0)

    @property
    def verdict(self) -> str:
        """better / worse / changed (when significant), else '~'."""
        if not self.significant or self.delta is None:
            return "~"
        if self.direction == 0:
            return "changed"
        return "better" if self.delta * self.direction > 0 else "worse"


@dataclass
class Flip:
    """A case whose disposition correctness changed."""

    alert_id: str
    truth: str
    pred_a: str
    pred_b: str


@dataclass
class McNemar:
    """McNemar's test on paired disposition correctness."""

    right_to_wrong: int
    wrong_to_right: int
    statistic: float | None
    p_value: float
    method: str


@dataclass
class Comparison:
    """Everything `eval compare` reports."""

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    n_paired: int
    resamples: int
    seed: int
    deltas: list[MetricDelta]
    mcnemar: McNemar
    right_to_wrong: list[Flip]
    wrong_to_right: list[Flip]
    notes: list[str] = field(default_factory=list)


def mcnemar(b: int, c: int) -> McNemar:
    """McNemar's test for b right->wrong and c wrong->right discordant pairs."""
    n = b + c
    if n == 0:
        return McNemar(b, c, None, 1.0, "exact binomial")
    if n < EXACT_BELOW:
        tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
        return McNemar(b, c, None, min(1.0, 2 * tail), "exact binomial")
    stat = (abs(b - c) - 1) ** 2 / n
    return McNemar(b, c, stat, math.erfc(math.sqrt(stat / 2)), "chi-square, continuity-corrected")


def _flat(records: dict[str, list[dict[str, Any]]]) -> dict[str, float | None]:
    return flat_metrics({name: AGGREGATORS[name](recs) for name, recs in records.items()})


def bootstrap(recs_a: dict[str, list[dict[str, Any]]], recs_b: dict[str, list[dict[str, Any]]], keys: list[str],
              resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, list[float]]:
    """Per metric key, the deltas B - A over paired resamples where both are defined."""
    n = len(next(iter(recs_a.values())))
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        fa = _flat({s: [recs[i] for i in idx] for s, recs in recs_a.items()})
        fb = _flat({s: [recs[i] for i in idx] for s, recs in recs_b.items()})
        for k in keys:
            va, vb = fa.get(k), fb.get(k)
            if va is not None and vb is not None:
                out[k].append(vb - va)
    return out


def compare_runs(a: RunLog, b: RunLog, resamples: int = RESAMPLES, seed: int = SEED) -> Comparison:
    """Compare run B against run A on the cases they share."""
    cases_b = {c.alert_id: c for c in b.cases}
    paired = [(ca, cases_b[ca.alert_id]) for ca in a.cases if ca.alert_id in cases_b]
    if not paired:
        raise InputInvalid(f"runs {a.run_id} and {b.run_id} share no case: nothing to compare")
    notes = []
    if a.case_set.sha256 != b.case_set.sha256:
        notes.append(f"the runs used different case files ({a.case_set.name}, {b.case_set.name}); "
                     f"compared on the {len(paired)} cases they share")
    only_a, only_b = len(a.cases) - len(paired), len(b.cases) - len(paired)
    if only_a or only_b:
        notes.append(f"{only_a} case(s) only in A and {only_b} only in B are left out")
    scorers = [s for s in AGGREGATORS if all(s in ca.scores and s in cb.scores for ca, cb in paired)]
    recs_a = {s: [ca.scores[s] for ca, _ in paired] for s in scorers}
    recs_b = {s: [cb.scores[s] for _, cb in paired] for s in scorers}
    full_a, full_b = _flat(recs_a), _flat(recs_b)
    keys = [m.key for m in HEADLINE if m.key in full_a and m.key in full_b]
    boot = bootstrap(recs_a, recs_b, keys, resamples, seed)
    deltas = []
    for m in HEADLINE:
        if m.key not in keys:
            continue
        va, vb, ds = full_a[m.key], full_b[m.key], boot[m.key]
        lo, hi = (float(np.percentile(ds, 2.5)), float(np.percentile(ds, 97.5))) if ds else (None, None)
        deltas.append(MetricDelta(m.key, m.label.strip(), va, vb, None if va is None or vb is None else vb - va,
                                  lo, hi, len(ds), direction(m.key)))
    r2w, w2r = [], []
    for ca, cb in paired:
        right_a = ca.scores.get("disposition", {}).get("correct", False)
        right_b = cb.scores.get("disposition", {}).get("correct", False)
        if right_a != right_b:
            flip = Flip(ca.alert_id, ca.label.disposition, ca.scores["disposition"]["pred"],
                        cb.scores["disposition"]["pred"])
            (r2w if right_a else w2r).append(flip)
    return Comparison(a.run_id, b.run_id, a.model, b.model, len(paired), resamples, seed, deltas,
                      mcnemar(len(r2w), len(w2r)), r2w, w2r, notes)
