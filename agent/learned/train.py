"""`sleuth model train`: features from the workspace, labels from the case file only; a model and its card.

The labels never touch the database: they are read from the case file here, joined to feature rows
the store computed from the workspace, and end up only in the model folder (its card lists the
training alert ids and a hash of the labels, so an eval can refuse to score a case the model saw).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from agent.learned.fit import ROUNDS, Fitted, TrainingSet, fit_all, gbm_params
from agent.learned.model import LearnedModel
from agent.learned.thresholds import choose_close, choose_sar, disposition
from evals.dataset import LabelledCase
from tools.errors import InputInvalid
from tools.settings import Settings

CARD_JSON = "card.json"
CARD_MD = "card.md"
METHOD = ("plain calibration split, cross-fitted: every training case gets an out-of-fold probability from models "
          "trained on the other folds; Platt scaling is fitted on those; the close threshold is the largest that "
          "meets the close-precision and SAR targets on them (mid-gap in log-odds), the SAR threshold the best "
          "balanced-accuracy cut between SARs and escalations among actionable cases")


def case_hash(case: LabelledCase) -> str:
    """Hash of one case's label (alert id, disposition, typology)."""
    return hashlib.sha256(f"{case.alert_id}|{case.disposition}|{case.typology}".encode()).hexdigest()


def cases_hash(cases: list[LabelledCase]) -> str:
    """Order-free hash of the training labels."""
    return hashlib.sha256("\n".join(sorted(case_hash(c) for c in cases)).encode()).hexdigest()


def training_set(db: Any, cases: list[LabelledCase], settings: Settings) -> TrainingSet:
    """Feature rows from the workspace for the cases' alerts, with the labels from the cases."""
    from agent.learned.features import feature_matrix, profile_of

    ids = [c.alert_id for c in cases]
    if len(set(ids)) != len(ids):
        raise InputInvalid("the case file names an alert more than once")
    names, X = feature_matrix(db, ids, profile=profile_of(settings))
    return TrainingSet(ids, names, X, [c.disposition for c in cases], [c.typology for c in cases])


@dataclass(frozen=True)
class Thresholds:
    close_below: float
    sar_at: float
    close_precision_target: float
    sar_recall_target: float
    oof_closed: int
    oof_benign_closed: int
    oof_benign: int
    oof_actionable_closed: int
    oof_sars_closed: int
    oof_sars: int


def choose_thresholds(ts: TrainingSet, fitted: Fitted, settings: Settings) -> Thresholds:
    """Both thresholds from the out-of-fold probabilities (see `thresholds`)."""
    close = choose_close(fitted.oof_p_act, ts.actionable, ts.is_sar, settings.close_precision_target,
                         settings.sar_recall_target)
    act = ts.actionable
    sar_at = choose_sar(fitted.oof_p_sar[act], ts.is_sar[act])
    return Thresholds(close.close_below, sar_at, settings.close_precision_target, settings.sar_recall_target,
                      close.closed, close.benign_closed, close.benign, close.actionable_closed, close.sars_closed,
                      close.sars)


def oof_metrics(ts: TrainingSet, fitted: Fitted, th: Thresholds) -> dict[str, Any]:
    """The eval scorers' metrics on the out-of-fold predictions (thresholds chosen on the same predictions)."""
    from evals.scorers import disposition as disp_scorer
    from evals.scorers import typology as typ_scorer

    d_records, t_records = [], []
    for i in range(len(ts.alert_ids)):
        pred = disposition(float(fitted.oof_p_act[i]), float(fitted.oof_p_sar[i]), th.close_below, th.sar_at)
        d_records.append({"truth": ts.disposition[i], "pred": pred, "correct": pred == ts.disposition[i]})
        typ = "none" if pred == "close" else (fitted.oof.typology[i] or "none")
        t_records.append({"truth": ts.typology[i], "pred": typ, "actionable": bool(ts.actionable[i]),
                          "correct": typ == ts.typology[i]})
    d, t = disp_scorer.aggregate(d_records), typ_scorer.aggregate(t_records)
    keys = ("n", "accuracy", "actionable_f1", "sar_caught", "sar_recall", "close_precision", "benign_auto_closed")
    return {**{k: d[k] for k in keys}, "typology_macro_f1": t["typology_macro_f1"],
            "typology_accuracy": t["typology_accuracy"], "folds": fitted.oof.n_folds}


def versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    return {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def fit_model(ts: TrainingSet, cases: list[LabelledCase], settings: Settings,
              descriptions: dict[str, str]) -> tuple[LearnedModel, dict[str, Any]]:
    """Train on a training set; returns the model and its card (not yet saved)."""
    if len(ts.alert_ids) < 10:
        raise InputInvalid(f"{len(ts.alert_ids)} training cases are too few to train and cross-validate; need 10+")
    if not ts.actionable.any() or ts.actionable.all():
        raise InputInvalid("the training cases need both benign (close) and actionable (escalate/sar) labels")
    fitted = fit_all(ts)
    th = choose_thresholds(ts, fitted, settings)
    h = cases_hash(cases)
    created = datetime.now(UTC)
    model_id = f"m-{created.strftime('%Y%m%d-%H%M%S')}-{h[:8]}"
    model = LearnedModel.from_fitted(model_id, ts.features, descriptions, fitted, th.close_below, th.sar_at,
                                     ts.alert_ids)
    from agent.learned import forest
    from agent.learned.fit import BINARY_LEARNER, SEED

    binary_kind = "LightGBM binary" if BINARY_LEARNER == "lightgbm" else f"extra trees ({forest.TREES}) binary"
    contrib_kind = ("LightGBM pred_contrib (log-odds) for the binary models" if BINARY_LEARNER == "lightgbm" else
                    "tree path decomposition (probability) for the binary models") + \
        "; tree path decomposition (probability) for the typology"
    counts: dict[str, int] = {}
    for c in cases:
        key = f"{c.disposition}:{c.typology}" if c.disposition != "close" else "close"
        counts[key] = counts.get(key, 0) + 1
    card = {
        "model_id": model_id, "created_at": created.isoformat(timespec="seconds"), "library": versions(),
        "features": [{"name": n, "description": descriptions.get(n, "")} for n in ts.features],
        "jurisdiction": getattr(settings, "jurisdiction", None),
        "training": {"n_cases": len(cases), "cases_sha256": h, "label_counts": dict(sorted(counts.items())),
                     "alert_ids": sorted(ts.alert_ids)},
        "models": {"actionable": f"{binary_kind}, Platt-calibrated", "sar": f"{binary_kind}, Platt-calibrated",
                   "typology": f"extra trees ({forest.TREES}) over actionable cases ({len(fitted.typology.classes)} "
                               "classes)",
                   "contributions": contrib_kind,
                   "params": gbm_params(len(cases)) if BINARY_LEARNER == "lightgbm" else
                   {"trees": forest.TREES, "seed": SEED, "transform": "sign(x) * log1p(|x|), missing as 0"},
                   "rounds": ROUNDS if BINARY_LEARNER == "lightgbm" else None,
                   "platt": {"actionable": [fitted.actionable.a, fitted.actionable.b],
                             "sar": [fitted.sar.a, fitted.sar.b]}},
        "thresholds": {**asdict(th), "method": METHOD},
        "cv_metrics": {**oof_metrics(ts, fitted, th),
                       "note": "out-of-fold predictions; the thresholds were chosen on these same predictions, so "
                               "the disposition figures are optimistic; `sleuth eval run --cv K` gives honest ones"},
    }
    return model, card


def card_markdown(card: dict[str, Any]) -> str:
    """The card for a human reader."""
    th, m, tr = card["thresholds"], card["cv_metrics"], card["training"]
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [f"# Learned model {card['model_id']}", "", f"Trained {card['created_at']} on {tr['n_cases']} labelled "
             f"cases (labels sha256 `{tr['cases_sha256'][:16]}...`).", "",
             "Libraries: " + ", ".join(f"{k} {v}" for k, v in card["library"].items()) + ".", "",
             "## Thresholds", "", f"- close when P(actionable) < {th['close_below']:.4f}",
             f"- sar when P(sar) >= {th['sar_at']:.4f}; otherwise escalate to a human",
             f"- targets: close precision >= {th['close_precision_target']}, SARs kept open >= "
             f"{th['sar_recall_target']}",
             f"- on the held-out predictions: closed {th['oof_closed']} ({th['oof_benign_closed']} of "
             f"{th['oof_benign']} benign, {th['oof_actionable_closed']} actionable, {th['oof_sars_closed']} of "
             f"{th['oof_sars']} SARs)", f"- method: {th['method']}", "",
             f"## Cross-validated metrics ({m['folds']} folds, out of fold)", ""]
    lines += [f"| {k} | {fmt(m[k])} |" for k in ("actionable_f1", "sar_caught", "close_precision",
                                                   "benign_auto_closed", "typology_macro_f1", "accuracy")]
    lines[-6:-6] = ["| metric | value |", "| --- | --- |"]
    lines += ["", m["note"] + ".", "", "## Labels", ""]
    lines += [f"- {k}: {v}" for k, v in tr["label_counts"].items()]
    lines += ["", "## Features", ""] + [f"- `{f['name']}`: {f['description']}" for f in card["features"]]
    return "\n".join(lines) + "\n"


def save(model: LearnedModel, card: dict[str, Any], folder: Path) -> Path:
    """Write the model and both forms of its card into `folder`."""
    from agent.store import atomic_write

    model.save(folder)
    model.path = folder
    atomic_write(folder / CARD_JSON, json.dumps(card, indent=1))
    atomic_write(folder / CARD_MD, card_markdown(card))
    return folder


def train(settings: Settings, cases_path: Path, out: Path | None = None) -> tuple[LearnedModel, dict[str, Any], Path]:
    """Train on a case file; saved under the workspace's models (and made current) unless `out` is given."""
    from agent.learned.features import descriptions
    from agent.learned.store import set_current
    from evals.dataset import load_cases
    from tools.db import Database

    cases = load_cases(cases_path).cases
    if not settings.db_path.exists():
        from tools.errors import WorkspaceMissing

        raise WorkspaceMissing(f"no workspace database at {settings.db_path}: run `sleuth workspace ensure` "
                               "(or `sleuth data load DIR`) first")
    with Database.open(settings) as db:
        ts = training_set(db, cases, settings)
    model, card = fit_model(ts, cases, settings, descriptions())
    card["training"]["cases_file"] = str(cases_path)
    folder = out or settings.models_dir / model.model_id
    save(model, card, folder)
    if out is None:
        set_current(settings, folder)
    return model, card, folder
