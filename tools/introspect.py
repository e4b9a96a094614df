"""Which tables and columns this workspace has, asked once per connection.

Several contract tables and columns are optional (logins, p2p_orders, addresses, txn_ids,
third_party_payer, snapshot_date): tools adapt their SQL to what is there instead of failing on a
workspace loaded from an exchange's own export. The answer is cached per `Database` because the
workspace is read-only for the connection's life.
"""

from __future__ import annotations

import weakref

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


_VALUES: weakref.WeakKeyDictionary[Database, dict[str, object]] = weakref.WeakKeyDictionary()


def data_start(db: Database) -> object:
    """Earliest exchange-side timestamp in `flows` (None when empty): where baselines begin.

    An account registered before the data starts has no visible history before that point, so
    per-month baselines are averaged from here, not from registration.
    """
    values = _VALUES.setdefault(db, {})
    if "data_start" not in values:
        values["data_start"] = db.scalar("SELECT min(ts) FROM flows WHERE layer = 'exchange'")
    return values["data_start"]
