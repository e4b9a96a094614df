"""The one statement that computes every feature for a set of alerts, and its two entry points.

`statement(query)` joins the groups' CTEs (tools/features/groups) into a single WITH ... SELECT:
DuckDB plans and runs it as one set-based pass (each group reads `flows` by hash join on the
entity, never a per-alert loop). `compute_features` runs it for all alerts or a list;
`compute_alert_features` runs the same statement filtered to one alert, so the evidence step and
the batch build can never disagree.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from tools.errors import InputInvalid, NotFound
from tools.features.groups import GROUPS
from tools.features.query import Query, base_ctes
from tools.features.registry import Feature, check_unique
from tools.settings import JurisdictionProfile, load_settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

#: Values are rounded to this many decimals: parallel sums add in a varying order, and the last
#: bits of a float then differ between runs and thread counts (measured on lagoon: 313 of 48,500
#: values, none by more than 1e-9 relative); rounded, the vectors are the same on every run.
DECIMALS = 9
FEATURES: tuple[Feature, ...] = tuple(f for g in GROUPS for f in g.FEATURES)
check_unique(list(FEATURES))
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def statement(query: Query) -> str:
    """The feature statement for these parameters (its only run-time parameter is `$ids`)."""
    ctes = base_ctes(query)
    for g in GROUPS:
        ctes += g.ctes(query)
    cols = []
    for f in FEATURES:
        expr = f"g_{f.group}.{f.name}"
        if f.default is not None:
            expr = f"coalesce({expr}, {float(f.default)!r})"
        cols.append(f"round(CAST({expr} AS DOUBLE), {DECIMALS}) AS {f.name}")
    joins = " ".join(f"LEFT JOIN g_{g.GROUP} USING (alert_id)" for g in GROUPS)
    return ("WITH " + ",\n".join(ctes) + f"\nSELECT sel.alert_id, {', '.join(cols)}\nFROM sel {joins}\n"
            "ORDER BY sel.alert_id")


def _connection(con: Any) -> duckdb.DuckDBPyConnection:
    """A raw DuckDB connection from a `tools.db.Database` or a DuckDB connection."""
    return getattr(con, "con", con)


def _query(profile: JurisdictionProfile | None, window_days: int | None, filtered: bool) -> Query:
    """Parameters, with what the caller leaves out taken from the settings (SLEUTH_JURISDICTION,
    SLEUTH_WINDOW_DAYS), so every caller sees the tools' window and the configured thresholds."""
    if profile is None or window_days is None:
        settings = load_settings()
        profile = profile or settings.jurisdiction_profile
        window_days = settings.window_days if window_days is None else window_days
    return Query(profile=profile, window_days=window_days, filtered=filtered)


def arrow_schema() -> pa.Schema:
    """The schema of a feature table: alert_id, then float64 features in FEATURES order."""
    import pyarrow as pa

    return pa.schema([("alert_id", pa.string()), *[(name, pa.float64()) for name in FEATURE_NAMES]])


def compute_features(con: Any, alert_ids: list[str] | None = None, profile: JurisdictionProfile | None = None,
                     *, window_days: int | None = None, use_held: bool = True) -> pa.Table:
    """Features of the given alerts (all alerts when None) as an Arrow table: `alert_id`, then one
    float64 column per feature in FEATURES order, sorted by alert id. Ids that are not alerts are
    left out (compare the row count to detect them). NULL only where a feature documents it.
    `profile` and `window_days` default to the settings' (`global` and 30 unless configured).
    On a `tools.db.Database` whose batch was prefetched (tools.features.held), the held rows of the
    statement are returned instead of running it again."""
    query = _query(profile, window_days, alert_ids is not None)
    if use_held and alert_ids is not None:
        from tools.features.held import held_table

        held = held_table(con, list(alert_ids), query.profile, query.window_days)
        if held is not None:
            return held
    params = {"ids": [str(a) for a in alert_ids]} if alert_ids is not None else None
    with getattr(con, "_lock", None) or contextlib.nullcontext():  # a tools.db.Database serialises its users
        return _connection(con).sql(statement(query), params=params).to_arrow_table()


def compute_alert_features(con: Any, alert_id: str, profile: JurisdictionProfile | None = None,
                           *, window_days: int | None = None) -> dict[str, float | None]:
    """One alert's features by name (the same statement, filtered); NotFound for an unknown alert."""
    if not isinstance(alert_id, str) or not alert_id:
        raise InputInvalid("an alert id is required")
    table = compute_features(con, [alert_id], profile, window_days=window_days)
    if table.num_rows == 0:
        raise NotFound(f"no alert {alert_id} in the workspace")
    row = table.to_pylist()[0]
    return {name: row[name] for name in FEATURE_NAMES}
