"""Which tables and columns this workspace has, asked once per connection.

Several contract tables and columns are optional (logins, p2p_orders, addresses, txn_ids,
third_party_payer, snapshot_date): tools adapt their SQL to what is there instead of failing on a
workspace loaded from an exchange's own export. The answer is cached per `Database` because the
workspace is read-only for the connection's life.
"""

from __future__ import annotations

import weakref
from typing import Any

from tools.db import Database

_CACHE: weakref.WeakKeyDictionary[Database, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()


def workspace_columns(db: Database) -> dict[str, frozenset[str]]:
    """Table name -> its column names (lower-case), for the main schema."""
    cached = _CACHE.get(db)
    if cached is None:
        res = db.execute(
            "SELECT lower(table_name), lower(column_name) FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND NOT internal"
        )
        tables: dict[str, set[str]] = {}
        for table, column in res.rows:
            tables.setdefault(table, set()).add(column)
        cached = {t: frozenset(c) for t, c in tables.items()}
        _CACHE[db] = cached
    return cached


def table_columns(db: Database, table: str) -> frozenset[str]:
    """Columns of `table`, empty when the workspace has no such table."""
    return workspace_columns(db).get(table.lower(), frozenset())


_VALUES: weakref.WeakKeyDictionary[Database, dict[str, Any]] = weakref.WeakKeyDictionary()


def data_span(db: Database) -> tuple[Any, Any]:
    """Earliest and latest exchange-side timestamps in `flows` ((None, None) when empty).

    Baselines start at the earliest (an account registered before the data starts has no visible
    history before it); a look-back without an explicit end stops at the latest, so a workspace
    loaded from a week-old export is not profiled over a week of silence.
    """
    values = _VALUES.setdefault(db, {})
    if "data_span" not in values:
        row = db.execute("SELECT min(ts), max(ts) FROM flows WHERE layer = 'exchange'").rows[0]
        values["data_span"] = (row[0], row[1])
    return values["data_span"]
