"""Fit the learned backend's three models and measure them out of fold.

P(actionable) and P(sar) are binary models over every training case: extremely randomised trees
by default, or LightGBM gradient-boosted trees (`BINARY_LEARNER`; chosen by measurement on six
generator worlds at ~90 training cases, docs/learned-model.md); the typology is a forest of
extremely randomised trees over the actionable ones (`forest`: with 2-5 cases per typology,
boosting cannot split). The data
are small (a hidden dataset of ~150 alerts gives ~100 training cases), so the boosted trees are
shallow, leaves may hold few cases and L2 regularisation does the rest; a target with one class
becomes a constant.

Cross-fitting: every training case also gets an out-of-fold (OOF) prediction from a model trained
on the other folds. The OOF scores fit the Platt calibration of the two binary models, choose the
thresholds (see `thresholds`) and give the card's cross-validated metrics.

Deterministic: fixed seeds, `deterministic=True`, one thread, column-wise histograms, no bagging,
so the same cases give the same model on any CPU.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.learned.forest import Forest

SEED = 7
MAX_FOLDS = 5


@dataclass
class TrainingSet:
    """Feature rows and labels of the training cases, in case-file order."""

    alert_ids: list[str]
    features: list[str]
    X: np.ndarray
    disposition: list[str]
    typology: list[str]

    def subset(self, rows: list[int]) -> TrainingSet:
        """The training set of these rows only."""
        return TrainingSet([self.alert_ids[i] for i in rows], self.features, self.X[rows],
                           [self.disposition[i] for i in rows], [self.typology[i] for i in rows])

    @property
    def actionable(self) -> np.ndarray:
        return np.array([d in ("escalate", "sar") for d in self.disposition])

    @property
    def is_sar(self) -> np.ndarray:
        return np.array([d == "sar" for d in self.disposition])


def gbm_params(n: int, objective: str = "binary", num_class: int | None = None) -> dict[str, Any]:
    """LightGBM parameters for a small training set of `n` rows."""
    params: dict[str, Any] = {
        "objective": objective, "learning_rate": 0.1, "num_leaves": 4, "max_depth": 3,
        "min_data_in_leaf": max(1, min(10, n // 20)), "min_sum_hessian_in_leaf": 1e-3,
        "lambda_l2": 1.0, "min_data_in_bin": 1, "feature_pre_filter": False, "max_bin": 63,
        "deterministic": True, "force_col_wise": True, "num_threads": 1, "seed": SEED,
        "bagging_fraction": 1.0, "feature_fraction": 1.0, "verbosity": -1,
    }
    if num_class is not None:
        params["num_class"] = num_class
    return params


ROUNDS = 120
#: Learner of the two binary models: "lightgbm" or "extratrees" (see docs/learned-model.md for the measurement).
BINARY_LEARNER = "extratrees"
FOREST_CLIP = 0.005


class Binary:
    """A binary model: a LightGBM booster or a forest (or a constant when the target has one class),
    and its Platt scaling."""

    def __init__(self, booster: Any | None, constant: float | None, a: float = 1.0, b: float = 0.0,
                 forest: Forest | None = None) -> None:
        self.booster, self.constant, self.a, self.b, self.forest = booster, constant, a, b, forest

    def raw(self, X: np.ndarray) -> np.ndarray:
        if self.forest is not None:
            p = np.clip(self.forest.proba(X)[:, -1], FOREST_CLIP, 1 - FOREST_CLIP)
            return np.log(p / (1 - p))
        if self.booster is None:
            return np.full(len(X), 0.0)
        return np.asarray(self.booster.predict(X, raw_score=True), dtype=float)

    def proba(self, X: np.ndarray) -> np.ndarray:
        if self.booster is None and self.forest is None:
            return np.full(len(X), float(self.constant))
        return 1 / (1 + np.exp(-(self.a * self.raw(X) + self.b)))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions (last column: the bias), before calibration: log-odds for a
        booster, probability for a forest."""
        if self.forest is not None:
            return self.forest.contributions(X, len(self.forest.classes) - 1)
        if self.booster is None:
            return np.zeros((len(X), X.shape[1] + 1))
        return np.asarray(self.booster.predict(X, pred_contrib=True), dtype=float)


class Multiclass:
    """The typology model: classes and a forest (or one constant class)."""

    def __init__(self, classes: list[str], forest: Forest | None) -> None:
        self.classes, self.forest = classes, forest

    def proba(self, X: np.ndarray) -> np.ndarray:
        if self.forest is None:
            return np.ones((len(X), 1))
        return self.forest.proba(X)

    def contributions(self, X: np.ndarray, k: int) -> np.ndarray:
        """Per-feature contributions to class k's probability (last column: the bias)."""
        if self.forest is None:
            return np.zeros((len(X), X.shape[1] + 1))
        return self.forest.contributions(X, k)


def _train(X: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> Any:
    import lightgbm as lgb

    data = lgb.Dataset(X, label=y, params={"verbosity": -1, "min_data_in_bin": 1, "feature_pre_filter": False,
                                           "max_bin": params["max_bin"]}, free_raw_data=False)
    return lgb.train(params, data, num_boost_round=ROUNDS)


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling of raw scores on held-out labels (sigmoid(a * raw + b))."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        return 1.0, 0.0
    lr = LogisticRegression(C=100.0).fit(raw.reshape(-1, 1), y.astype(int))
    return float(lr.coef_[0][0]), float(lr.intercept_[0])


def fit_binary(X: np.ndarray, y: np.ndarray, calib: tuple[float, float] | None = None) -> Binary:
    """A binary model on all rows; `calib` is the Platt scaling fitted on held-out scores."""
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        return Binary(None, float(pos > 0))
    a, b = calib or (1.0, 0.0)
    if BINARY_LEARNER == "extratrees":
        return Binary(None, None, a, b, forest=Forest.fit(X, [int(v) for v in y], SEED))
    booster = _train(X, y.astype(float), gbm_params(len(y)))
    return Binary(booster, None, a, b)


def fit_multiclass(X: np.ndarray, labels: list[str]) -> Multiclass:
    """The typology model over the given (actionable) rows."""
    classes = sorted(set(labels))
    if len(classes) <= 1:
        return Multiclass(classes or ["none"], None)
    forest = Forest.fit(X, labels, SEED)
    return Multiclass(forest.classes, forest)


def folds(strata: list[str], k: int = MAX_FOLDS, seed: int = SEED) -> list[np.ndarray]:
    """Stratified fold index of each row (as K arrays of held-out rows); fewer folds for tiny sets."""
    from sklearn.model_selection import StratifiedKFold

    n = len(strata)
    k = max(2, min(k, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a stratum smaller than k is spread as evenly as it can be
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return [test for _, test in splitter.split(np.zeros(n), strata)]


@dataclass
class OutOfFold:
    """Held-out predictions of every training case (typology only for actionable ones)."""

    p_act_raw: np.ndarray
    p_sar_raw: np.ndarray
    typology: list[str | None]
    n_folds: int
    fold_of: list[int] = field(default_factory=list)


def out_of_fold(ts: TrainingSet, k: int = MAX_FOLDS) -> OutOfFold:
    """Cross-fitted raw scores: each row is scored by models trained on the other folds only."""
    n = len(ts.alert_ids)
    act, sar = ts.actionable.astype(float), ts.is_sar.astype(float)
    strata = [d if d != "close" else "close" for d in ts.disposition]
    parts = folds(strata, k)
    raw_act, raw_sar = np.zeros(n), np.zeros(n)
    typ: list[str | None] = [None] * n
    fold_of = [0] * n
    for f, test in enumerate(parts):
        train = np.setdiff1d(np.arange(n), test)
        Xtr, Xte = ts.X[train], ts.X[test]
        for y, out in ((act, raw_act), (sar, raw_sar)):
            m = fit_binary(Xtr, y[train])
            out[test] = m.raw(Xte) if m.constant is None else (m.constant * 20 - 10)
        tr_act = [i for i in train if ts.actionable[i]]
        mc = fit_multiclass(ts.X[tr_act], [ts.typology[i] for i in tr_act])
        te_act = [i for i in test if ts.actionable[i]]
        if te_act:
            probs = mc.proba(ts.X[te_act])
            for i, row in zip(te_act, probs, strict=True):
                typ[i] = mc.classes[int(np.argmax(row))]
        for i in test:
            fold_of[i] = f
    return OutOfFold(raw_act, raw_sar, typ, len(parts), fold_of)


@dataclass
class Fitted:
    """The three final models, their calibration, and the OOF evidence they were chosen on."""

    actionable: Binary
    sar: Binary
    typology: Multiclass
    oof: OutOfFold
    oof_p_act: np.ndarray
    oof_p_sar: np.ndarray


def fit_all(ts: TrainingSet, k: int = MAX_FOLDS) -> Fitted:
    """Cross-fit, calibrate on the held-out scores, then train the final models on every row."""
    oof = out_of_fold(ts, k)
    act, sar = ts.actionable, ts.is_sar
    cal_act, cal_sar = _platt(oof.p_act_raw, act), _platt(oof.p_sar_raw, sar)
    m_act = fit_binary(ts.X, act.astype(float), cal_act)
    m_sar = fit_binary(ts.X, sar.astype(float), cal_sar)
    rows = [i for i in range(len(ts.alert_ids)) if act[i]]
    m_typ = fit_multiclass(ts.X[rows], [ts.typology[i] for i in rows])
    sig = lambda raw, ab: 1 / (1 + np.exp(-(ab[0] * raw + ab[1])))  # noqa: E731
    return Fitted(m_act, m_sar, m_typ, oof, sig(oof.p_act_raw, cal_act), sig(oof.p_sar_raw, cal_sar))
