"""Feature rows held per workspace connection, so a batch computes them in one pass.

One alert through the feature statement costs DuckDB most of a second of planning whatever the
data size (the statement is large); a batch of alerts costs about the same plan plus a set-based
pass. So a batch runner calls `prefetch(db, ids)` once per batch and each case's `features` step
then reads its row from here (`alert_features`), computing (and holding) a single alert only when
nothing was prefetched. Held in the connection's `tools.db.Held` (shared by its forks, gone with
it), keyed by what the rows depend on: jurisdiction profile and window.
"""

from __future__ import annotations

from typing import Any

from tools.errors import NotFound
from tools.features.compute import FEATURE_NAMES, _query, compute_features
from tools.settings import JurisdictionProfile

Row = dict[str, float | None]
KIND = "features"


def _store(db: Any, profile: JurisdictionProfile, window_days: int) -> dict[str, Row]:
    return db.held.kind(KIND).setdefault((profile, window_days), {})


def held_table(db: Any, alert_ids: list[str], profile: JurisdictionProfile, window_days: int) -> Any | None:
    """The statement's table for these alerts from held rows, when every one is held; else None."""
    if not hasattr(db, "root"):
        return None
    held = _store(db, profile, window_days)
    ids = sorted(set(alert_ids))
    if not ids or any(a not in held for a in ids):
        return None
    import pyarrow as pa

    from tools.features.compute import arrow_schema

    return pa.Table.from_pylist([{"alert_id": a, **held[a]} for a in ids], schema=arrow_schema())


def prefetch(db: Any, alert_ids: list[str], profile: JurisdictionProfile | None = None,
             window_days: int | None = None) -> int:
    """Compute and hold the features of the alerts not held yet, in one pass; returns how many
    were computed. Unknown ids are skipped (a case on them fails in its own step)."""
    query = _query(profile, window_days, filtered=True)
    held = _store(db, query.profile, query.window_days)
    missing = [a for a in dict.fromkeys(alert_ids) if a not in held]
    if not missing:
        return 0
    table = compute_features(db, missing, query.profile, window_days=query.window_days, use_held=False)
    rows = {r.pop("alert_id"): r for r in table.to_pylist()}
    held.update(rows)
    return len(rows)


def alert_features(db: Any, alert_id: str, profile: JurisdictionProfile | None = None,
                   window_days: int | None = None) -> Row:
    """The alert's features: held ones, else computed for this alert alone (and held)."""
    query = _query(profile, window_days, filtered=True)
    held = _store(db, query.profile, query.window_days)
    if alert_id not in held:
        prefetch(db, [alert_id], query.profile, query.window_days)
    row = held.get(alert_id)
    if row is None:
        raise NotFound(f"no alert {alert_id} in the workspace")
    return {name: row[name] for name in FEATURE_NAMES}


def hold_parquet(db: Any, path: Any) -> int:
    """Hold the rows of a `sleuth features build` file (its metadata names the jurisdiction and the
    window; the feature-set digest must be this code's, else InputInvalid): a run that builds its
    whole backlog once (about 9 CPU s for 5,000 alerts at 10M transactions, where a 64-alert batch
    costs about 2.6) hands the file to its workers instead of each batch prefetching."""
    import pyarrow.parquet as pq

    from tools.errors import InputInvalid
    from tools.features.build import feature_set_digest
    from tools.features.query import Query
    from tools.settings import JURISDICTIONS

    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    try:
        profile = JURISDICTIONS[meta["sleuth.features.jurisdiction"]]
        window = int(meta["sleuth.features.window_days"])
    except (KeyError, ValueError) as e:
        raise InputInvalid(f"{path}: not a `sleuth features build` file (no feature metadata)") from e
    if meta.get("sleuth.features.digest") != feature_set_digest(Query(profile=profile, window_days=window)):
        raise InputInvalid(f"{path}: built by another version of the feature definitions; build it again")
    rows = {r.pop("alert_id"): {n: r[n] for n in FEATURE_NAMES} for r in table.to_pylist()}
    _store(db, profile, window).update(rows)
    return len(rows)


def forget(db: Any) -> None:
    """Drop what is held for this connection (tests compare both paths)."""
    db.held.drop(KIND)
