"""The learned backend's training on hand-made feature rows: thresholds, calibration, storage, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.learned.fit import TrainingSet, folds
from agent.learned.model import LearnedModel
from agent.learned.thresholds import choose_close, choose_sar, disposition
from agent.learned.train import case_hash, cases_hash, fit_model
from evals.dataset import LabelledCase
from tools.errors import InputInvalid
from tools.settings import load_settings


@pytest.fixture(autouse=True)
def small_forests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer trees: the same code paths, a fraction of the time."""
    monkeypatch.setattr("agent.learned.forest.TREES", 40)

TYPES = ["cycle", "fan_in", "structuring", "stack"]


def toy(n: int = 80, seed: int = 0) -> tuple[TrainingSet, list[LabelledCase]]:
    """Benign rows near 0; actionable rows shifted on f0, and on one feature per typology; SARs on f5."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    disp, typ = [], []
    for i in range(n):
        if i < n // 2:
            disp.append("close")
            typ.append("none")
            continue
        t = TYPES[i % 4]
        d = "sar" if i % 3 else "escalate"
        X[i, 0] += 4
        X[i, 1 + TYPES.index(t)] += 4
        X[i, 5] += 3 if d == "sar" else 0
        disp.append(d)
        typ.append(t)
    ids = [f"ALT-{i:05d}" for i in range(n)]
    cases = [LabelledCase(alert_id=a, disposition=d, typology=t) for a, d, t in zip(ids, disp, typ, strict=True)]
    return TrainingSet(ids, [f"f{j}" for j in range(6)], X, disp, typ), cases


def test_close_threshold_meets_both_targets_and_sits_mid_gap() -> None:
    p = np.array([0.01, 0.02, 0.05, 0.30, 0.60, 0.90])
    act = np.array([0, 0, 0, 1, 1, 1])
    sar = np.array([0, 0, 0, 0, 1, 1])
    c = choose_close(p, act, sar, 0.99, 0.98)
    assert (c.closed, c.benign_closed, c.actionable_closed) == (3, 3, 0)
    assert 0.05 < c.close_below < 0.30
    # an actionable case among the benign scores caps the threshold below it
    act2 = np.array([0, 1, 0, 1, 1, 1])
    c2 = choose_close(p, act2, sar, 0.99, 0.98)
    assert c2.closed == 1 and c2.close_below < 0.02


def test_no_feasible_close_threshold_closes_nothing() -> None:
    p = np.array([0.1, 0.2, 0.3])
    c = choose_close(p, np.array([1, 0, 0]), np.array([1, 0, 0]), 0.99, 0.98)
    assert c.closed == 0 and c.close_below == 0.0
    assert disposition(0.0, 0.0, c.close_below, 0.5) == "escalate"  # unsure is never a close


def test_sar_threshold_separates_and_disposition_bands() -> None:
    t = choose_sar(np.array([0.1, 0.2, 0.7, 0.8]), np.array([0, 0, 1, 1]))
    assert 0.2 < t < 0.7
    assert disposition(0.05, 0.9, 0.1, t) == "close"
    assert disposition(0.5, 0.3, 0.1, t) == "escalate"
    assert disposition(0.5, 0.9, 0.1, t) == "sar"


def test_folds_are_stratified_and_disjoint() -> None:
    strata = ["a"] * 10 + ["b"] * 5
    parts = folds(strata, 5)
    assert len(parts) == 5
    seen = np.concatenate(parts)
    assert sorted(seen.tolist()) == list(range(15))
    assert all(sum(1 for i in p if i >= 10) == 1 for p in parts)


def test_fit_learns_and_cards_the_cross_validation() -> None:
    ts, cases = toy()
    model, card = fit_model(ts, cases, load_settings(), {f"f{j}": f"feature {j}" for j in range(6)})
    m = card["cv_metrics"]
    assert m["sar_caught"] == 1.0 and m["close_precision"] == 1.0
    assert m["benign_auto_closed"] > 0.8 and m["typology_macro_f1"] > 0.7
    assert card["training"]["cases_sha256"] == cases_hash(cases)
    assert card["training"]["alert_ids"] == sorted(ts.alert_ids)
    assert {"lightgbm", "scikit-learn"} <= set(card["library"])
    preds = model.predict(ts.X)
    assert [p.disposition == "close" for p in preds[:40]].count(True) > 30
    assert all(p.disposition != "close" for p in preds[40:])
    driver = preds[50].drivers[0]
    assert driver.feature == "f0" and driver.contribution > 0 and driver.description == "feature 0"


def test_training_is_deterministic_and_survives_a_round_trip(tmp_path: Path) -> None:
    ts, cases = toy()
    a, _ = fit_model(ts, cases, load_settings(), {})
    b, _ = fit_model(ts, cases, load_settings(), {})
    assert a.to_json()["actionable"] == b.to_json()["actionable"] and a.to_json()["sar"] == b.to_json()["sar"]
    assert a.to_json()["typology"] == b.to_json()["typology"]
    a.save(tmp_path / "m")
    loaded = LearnedModel.load(tmp_path / "m")
    assert [p.__dict__ for p in loaded.predict(ts.X)] == [p.__dict__ for p in a.predict(ts.X)]
    assert loaded.training_alert_ids == frozenset(ts.alert_ids)


def test_a_stricter_close_target_never_closes_more() -> None:
    ts, cases = toy(seed=3)
    loose, _ = fit_model(ts, cases, load_settings(close_precision_target=0.9, sar_recall_target=0.9), {})
    strict, _ = fit_model(ts, cases, load_settings(), {})
    assert strict.close_below <= loose.close_below


def test_both_binary_learners_train(monkeypatch: pytest.MonkeyPatch) -> None:
    ts, cases = toy()
    monkeypatch.setattr("agent.learned.fit.BINARY_LEARNER", "lightgbm")
    model, card = fit_model(ts, cases, load_settings(), {})
    assert model.actionable.booster is not None and card["cv_metrics"]["sar_caught"] == 1.0
    assert model.predict(ts.X[50:51])[0].disposition != "close"


def test_a_single_class_target_is_a_constant_and_too_few_cases_are_refused() -> None:
    ts, cases = toy()
    only = [i for i, d in enumerate(ts.disposition) if d != "escalate"]
    sub = ts.subset(only)
    model, _ = fit_model(sub, [cases[i] for i in only], load_settings(), {})
    assert model.sar.constant is None and model.actionable.constant is None
    with pytest.raises(InputInvalid, match="too few"):
        fit_model(ts.subset(list(range(5))), cases[:5], load_settings(), {})
    with pytest.raises(InputInvalid, match="both benign"):
        rows = list(range(40))
        fit_model(ts.subset(rows), cases[:40], load_settings(), {})


def test_case_hash_depends_on_the_label() -> None:
    a = LabelledCase(alert_id="ALT-1", disposition="sar", typology="cycle")
    b = LabelledCase(alert_id="ALT-1", disposition="escalate", typology="cycle")
    assert case_hash(a) != case_hash(b)
