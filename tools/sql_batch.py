"""A playbook's SQL step for a whole batch of alerts in one statement.

A step is written for one alert, with `$account`, `$alert_ts`, `$window_start` and `$alert_id`.
Run alone it costs 3-6 ms an alert at 10M transactions, mostly planning; the same text as a
`LATERAL` subquery over a batch's parameters costs 0.1-0.6 ms an alert at 1,000 alerts (one
decorrelated scan of `flows`). `prefetch` runs that statement and holds each alert's result on the
connection (`Database.held`); `run_sql` for that alert then takes it instead of running the step.

Equality with the single run: the rows are the same rows; the validated statement is the same
text; a held result is used only when the batch gave the alert exactly one row (the contract of a
step), else the case runs the step alone. Only the order in which DuckDB adds floating-point
values differs, which `tools.sql.settle` removes for both paths.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from tools.db import Database, QueryFailed, QueryTimeout

PARAMS = ("account", "alert_ts", "window_start", "alert_id")
_PARAM = re.compile(r"\$(account|alert_ts|window_start|alert_id)\b")
KIND = "sql"


def step_params(alert: dict[str, Any] | None, query: str) -> dict[str, Any] | None:
    """The case's values for the parameters the query uses (None without an alert or any)."""
    if alert is None:
        return None
    bound = {"account": alert["account_id"], "alert_ts": _time(alert["created_at"]),
             "window_start": _time(alert["window_start"]), "alert_id": alert["alert_id"]}
    used = {k: v for k, v in bound.items() if f"${k}" in query}
    return used or None


def held_key(query: str, params: dict[str, Any] | None) -> tuple[Any, ...]:
    return (query, tuple(sorted((params or {}).items())))


def prefetch(db: Database, query: str, alerts: list[dict[str, Any]], row_cap: int,
             timeout_s: float | None = None) -> int:
    """Run one step for these alerts in one statement and hold each alert's result; returns how
    many were held. A statement the guard rejects, or one that fails or runs out of time, holds
    nothing: the cases then run it alone and record what went wrong, as without a batch."""
    from tools.sql import SqlResult, allowlist, settle, validated
    from tools.sql_guard import SqlRejected

    tables, catalog = allowlist(db)
    try:
        single = validated(query, tables, catalog, row_cap + 1)
    except SqlRejected:
        return 0
    bindings = {held_key(query, p): p for p in (step_params(a, query) for a in alerts)}
    bindings = {k: p for k, p in bindings.items() if p and not db.held.has(KIND, k)}
    if not bindings:
        return 0
    names = sorted(next(iter(bindings.values())))
    keys = list(bindings)
    inner = _PARAM.sub(lambda m: f"_sleuth_b._sleuth_{m.group(1)}", single)
    columns = ", ".join(f"unnest(${n}) AS _sleuth_{n}" for n in names)
    sql = (f"SELECT _sleuth_b._sleuth_i, _sleuth_s.* FROM (SELECT unnest($i) AS _sleuth_i, {columns}) AS _sleuth_b, "
           f"LATERAL ({inner}) AS _sleuth_s")
    values: dict[str, Any] = {"i": list(range(len(keys)))}
    values.update({n: [bindings[k][n] for k in keys] for n in names})
    start = time.perf_counter()
    try:
        res = db.execute(sql, values, timeout_s=timeout_s)
    except (QueryFailed, QueryTimeout):
        return 0
    share = (time.perf_counter() - start) * 1000 / len(keys)
    rows: dict[int, list[tuple[Any, ...]]] = {}
    for row in res.rows:
        rows.setdefault(row[0], []).append(tuple(row[1:]))
    columns_out = res.columns[1:]
    held = {keys[i]: SqlResult(single, columns_out, [settle(r) for r in got], False, row_cap, share)
            for i, got in rows.items() if len(got) == 1}
    db.held.put(KIND, held)
    return len(held)


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
