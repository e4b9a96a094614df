"""A trained learned-backend model: its three parts, thresholds and features, and how it scores.

Stored as plain JSON (LightGBM's own text format inside, the forests' node arrays, Platt
coefficients, thresholds): no pickle, so loading a model folder can only ever read numbers and trees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.learned.fit import Binary, Fitted, Multiclass
from agent.learned.forest import Forest
from agent.learned.thresholds import disposition

MODEL_FILE = "model.json"
TOP_DRIVERS = 5


@dataclass(frozen=True)
class Driver:
    """One feature's share in a decision: its value and its contribution in log-odds."""

    feature: str
    value: float | None
    contribution: float
    description: str


@dataclass(frozen=True)
class Prediction:
    """What the model says about one alert."""

    p_actionable: float
    p_sar: float
    typology: str
    p_typology: float
    disposition: str
    drivers: list[Driver]
    typology_drivers: list[Driver]


def _booster(text: str | None) -> Any | None:
    if text is None:
        return None
    import lightgbm as lgb

    return lgb.Booster(model_str=text)


def _text(booster: Any | None) -> str | None:
    return None if booster is None else booster.model_to_string()


@dataclass
class LearnedModel:
    """A loaded model, ready to score feature rows."""

    model_id: str
    features: list[str]
    descriptions: dict[str, str]
    actionable: Binary
    sar: Binary
    typology: Multiclass
    close_below: float
    sar_at: float
    training_alert_ids: frozenset[str] = field(default_factory=frozenset)
    path: Path | None = None

    @classmethod
    def from_fitted(cls, model_id: str, features: list[str], descriptions: dict[str, str], fitted: Fitted,
                    close_below: float, sar_at: float, training_alert_ids: list[str]) -> LearnedModel:
        return cls(model_id, features, descriptions, fitted.actionable, fitted.sar, fitted.typology,
                   close_below, sar_at, frozenset(training_alert_ids))

    # -- scoring --------------------------------------------------------------------------
    def _drivers(self, x: np.ndarray, contrib: np.ndarray, sign: float = 1.0) -> list[Driver]:
        """The features that moved this score most (largest |contribution|), strongest first."""
        order = sorted(range(len(self.features)), key=lambda j: (-abs(contrib[j]), self.features[j]))
        out = []
        for j in order[:TOP_DRIVERS]:
            if contrib[j] == 0:
                break
            value = None if np.isnan(x[j]) else float(x[j])
            out.append(Driver(self.features[j], value, round(float(contrib[j]) * sign, 4),
                              self.descriptions.get(self.features[j], "")))
        return out

    def predict(self, X: np.ndarray) -> list[Prediction]:
        """Score feature rows (columns in `self.features` order)."""
        X = np.asarray(X, dtype=float).reshape(-1, len(self.features))
        p_act, p_sar = self.actionable.proba(X), self.sar.proba(X)
        c_act = self.actionable.contributions(X)
        probs = self.typology.proba(X)
        out = []
        for i in range(len(X)):
            k = int(np.argmax(probs[i]))
            c_typ = self.typology.contributions(X[i:i + 1], k)[0]
            disp = disposition(float(p_act[i]), float(p_sar[i]), self.close_below, self.sar_at)
            out.append(Prediction(
                p_actionable=round(float(p_act[i]), 4), p_sar=round(float(p_sar[i]), 4),
                typology=self.typology.classes[k], p_typology=round(float(probs[i][k]), 4), disposition=disp,
                drivers=self._drivers(X[i], c_act[i]), typology_drivers=self._drivers(X[i], c_typ)))
        return out

    # -- storage --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def binary(m: Binary) -> dict[str, Any]:
            return {"booster": _text(m.booster), "constant": m.constant, "platt": [m.a, m.b],
                    "forest": m.forest.to_json() if m.forest is not None else None}

        return {"model_id": self.model_id, "features": self.features, "descriptions": self.descriptions,
                "actionable": binary(self.actionable), "sar": binary(self.sar),
                "typology": {"classes": self.typology.classes,
                             "forest": self.typology.forest.to_json() if self.typology.forest is not None else None},
                "thresholds": {"close_below": self.close_below, "sar_at": self.sar_at},
                "training_alert_ids": sorted(self.training_alert_ids)}

    def save(self, folder: Path) -> Path:
        from agent.store import atomic_write

        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / MODEL_FILE, json.dumps(self.to_json()))
        return folder / MODEL_FILE

    @classmethod
    def load(cls, folder: Path) -> LearnedModel:
        d = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))

        def binary(b: dict[str, Any]) -> Binary:
            forest = Forest.from_json(b["forest"]) if b.get("forest") else None
            return Binary(_booster(b["booster"]), b["constant"], *b["platt"], forest=forest)

        return cls(d["model_id"], d["features"], d["descriptions"], binary(d["actionable"]), binary(d["sar"]),
                   Multiclass(d["typology"]["classes"],
                              Forest.from_json(d["typology"]["forest"]) if d["typology"]["forest"] else None),
                   d["thresholds"]["close_below"], d["thresholds"]["sar_at"],
                   frozenset(d["training_alert_ids"]), folder)
