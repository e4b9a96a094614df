"""The learned backend's one door to the feature store (`tools.features`): rows in a fixed column order.

The store's statement costs about the same for one alert as for a few hundred (its cost is
planning), so batch runners prefetch a batch's rows onto the database connection
(`Investigator.prime` / `investigate_many`) and `row` and `feature_matrix` read the held rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tools.errors import InputInvalid
from tools.settings import Settings

RETRAIN = "the model was trained on another feature set; retrain it with `sleuth model train --cases FILE`"


def descriptions() -> dict[str, str]:
    """Feature name -> its documented description, from the store's registry."""
    from tools.features import FEATURES

    return {f.name: f.description for f in FEATURES}


def profile_of(settings: Settings) -> Any | None:
    """The jurisdiction profile the features are measured against (training and scoring use the same)."""
    return settings.jurisdiction_profile


def feature_matrix(db: Any, alert_ids: list[str], names: list[str] | None = None,
                   profile: Any | None = None) -> tuple[list[str], np.ndarray]:
    """(feature names, rows) for the alerts, in the order given; `names` fixes the columns (a model's).

    A feature the model needs but the store no longer computes is an error (retrain), never a silent NaN.
    """
    from tools.features import compute_features

    table = compute_features(db, alert_ids=list(alert_ids), profile=profile)  # a Database: held rows are reused
    cols = [c for c in table.column_names if c != "alert_id"]
    names = list(names) if names is not None else cols
    missing = [n for n in names if n not in cols]
    if missing:
        raise InputInvalid(f"the feature store does not compute {', '.join(missing[:5])}: {RETRAIN}")
    index = {a: i for i, a in enumerate(table.column("alert_id").to_pylist())}
    absent = [a for a in alert_ids if a not in index]
    if absent:
        raise InputInvalid(f"{len(absent)} alert(s) not in the workspace, e.g. {absent[0]!r}")
    data = np.column_stack([np.asarray(table.column(n).to_numpy(zero_copy_only=False), dtype=float)
                            for n in names]) if names else np.zeros((table.num_rows, 0))
    return names, data[[index[a] for a in alert_ids]]


def row(db: Any, alert_id: str, names: list[str], profile: Any | None = None) -> np.ndarray:
    """One alert's feature row in `names` order: the held row of a prefetched batch, else computed now."""
    from tools.features import alert_features

    values = alert_features(db, alert_id, profile)
    missing = [n for n in names if n not in values]
    if missing:
        raise InputInvalid(f"the feature store does not compute {', '.join(missing[:5])}: {RETRAIN}")
    return np.array([np.nan if values[n] is None else float(values[n]) for n in names], dtype=float)
