"""The two thresholds of the learned backend, chosen on held-out (out-of-fold) probabilities.

close: P(actionable) below `close_below`. The threshold is the largest one whose out-of-fold closes
meet the target close precision and keep at least the target share of SARs open (sar or escalate);
among the thresholds that close the same cases it sits mid-gap in log-odds between the last closed
and the first kept score, so a new case needs a clearly benign score to be closed.

sar: among the cases not closed, P(sar) at or above `sar_at` files a SAR, anything else escalates to
a human: the model's uncertain middle is always a human's call, never a close.

This is a plain calibration split (cross-fitted: every training case is scored by a model that did
not see it), not conformal risk control: with 5-8 cases per typology a conformal bound on the miss
rate (needing (misses + 1) / (n_sar + 1) <= 1 - target) could not close anything at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def _mid(lo: float, hi: float) -> float:
    """The log-odds midpoint of two probabilities."""
    m = (_logit(lo) + _logit(hi)) / 2
    return 1 / (1 + math.exp(-m))


@dataclass(frozen=True)
class CloseChoice:
    """The close threshold and what it did on the held-out predictions."""

    close_below: float
    closed: int
    benign_closed: int
    benign: int
    actionable_closed: int
    sars_closed: int
    sars: int

    @property
    def close_precision(self) -> float | None:
        return (self.benign_closed / self.closed) if self.closed else None


def choose_close(p_act: np.ndarray, actionable: np.ndarray, is_sar: np.ndarray, precision_target: float,
                 sar_target: float) -> CloseChoice:
    """The close threshold that closes the most benign held-out cases within both targets."""
    order = np.argsort(p_act, kind="stable")
    p, act, sar = p_act[order], actionable[order].astype(bool), is_sar[order].astype(bool)
    n, n_sar, n_benign = len(p), int(sar.sum()), int((~act).sum())
    best = CloseChoice(0.0, 0, 0, n_benign, 0, 0, n_sar)
    for k in range(1, n + 1):  # close the k lowest scores
        if k < n and p[k] == p[k - 1]:
            continue  # a threshold cannot split equal scores
        closed_act, closed_sar = int(act[:k].sum()), int(sar[:k].sum())
        precision = (k - closed_act) / k
        caught = 1.0 if n_sar == 0 else (n_sar - closed_sar) / n_sar
        if precision + 1e-12 < precision_target or caught + 1e-12 < sar_target:
            continue
        if k - closed_act > best.benign_closed:
            t = _mid(p[k - 1], p[k]) if k < n else min(1.0, _mid(p[k - 1], 1 - 1e-6))
            best = CloseChoice(t, k, k - closed_act, n_benign, closed_act, closed_sar, n_sar)
    return best


def choose_sar(p_sar: np.ndarray, is_sar: np.ndarray) -> float:
    """The P(sar) threshold that best separates SARs from escalations among actionable held-out cases
    (balanced accuracy; mid-gap in log-odds). 0.5 when there is nothing to separate."""
    pos, neg = p_sar[is_sar.astype(bool)], p_sar[~is_sar.astype(bool)]
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    values = np.unique(p_sar)
    cuts = [_mid(a, b) for a, b in zip(values[:-1], values[1:], strict=True)] or [0.5]
    best_t, best_score = 0.5, -1.0
    for t in cuts:
        score = (np.mean(pos >= t) + np.mean(neg < t)) / 2
        if score > best_score + 1e-12:
            best_t, best_score = t, score
    return float(best_t)


def disposition(p_act: float, p_sar: float, close_below: float, sar_at: float) -> str:
    """close below the close threshold, sar at or above the SAR threshold, else escalate (unsure)."""
    if p_act < close_below:
        return "close"
    return "sar" if p_sar >= sar_at else "escalate"
