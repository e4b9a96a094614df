"""The feature store: generic, documented features of an alert's account window (docs/features.md).

Stable API (other modules code against it):
- FEATURES: ordered definitions (.name, .group, .unit, .description, .default, .null_when).
- compute_features(con, alert_ids=None, profile=None, *, window_days=None) -> pyarrow.Table with
  `alert_id` then one float64 column per feature in FEATURES order.
- compute_alert_features(con, alert_id, profile=None, *, window_days=None) -> {name: value}: the same
  statement filtered to one alert.
- prefetch(db, alert_ids, profile=None, window_days=None): compute a batch in one pass and hold it on
  the connection, so each case's `features` step reads its row (tools.features.held).
- hold_parquet(db, path): hold the rows of a `sleuth features build` file (a run that builds its whole
  backlog once hands the file to its workers; checked against the feature-set digest).
- The jurisdiction profile type is tools.settings.JurisdictionProfile (settings.jurisdiction_profile).
Features never read the alert's rule id or description.
"""

from __future__ import annotations

from tools.features.compute import FEATURE_NAMES, FEATURES, compute_alert_features, compute_features, statement
from tools.features.held import alert_features, hold_parquet, prefetch
from tools.features.registry import Feature
from tools.settings import JURISDICTIONS, JurisdictionProfile, ReportingThreshold

__all__ = [
    "FEATURES", "FEATURE_NAMES", "Feature", "JURISDICTIONS", "JurisdictionProfile", "ReportingThreshold",
    "alert_features", "compute_alert_features", "compute_features", "hold_parquet", "prefetch", "statement",
]
