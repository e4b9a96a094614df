"""Which tables and columns this workspace has, asked once per connection.

Several contract tables and columns are optional (logins, p2p_orders, addresses, txn_ids,
third_party_payer, snapshot_date): tools adapt their SQL to what is there instead of failing on a
workspace loaded from an exchange's own export. The answers are caches of the `Database` instance
(`Database.cached`) because the workspace is read-only for the connection's life.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tools.db import Database

T = TypeVar("T")


def workspace_columns(db: Database) -> dict[str, frozenset[str]]:
    """Table name -> its column names (lower-case), for the main schema."""
    def read() -> dict[str, frozenset[str]]:
        res = db.execute(
            "SELECT lower(table_name), lower(column_name) FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND NOT internal"
        )
        tables: dict[str, set[str]] = {}
        for table, column in res.rows:
            tables.setdefault(table, set()).add(column)
        return {t: frozenset(c) for t, c in tables.items()}

    return db.cached("introspect.columns", read)


def table_columns(db: Database, table: str) -> frozenset[str]:
    """Columns of `table`, empty when the workspace has no such table."""
    return workspace_columns(db).get(table.lower(), frozenset())


def data_span(db: Database) -> tuple[Any, Any]:
    """Earliest and latest exchange-side timestamps in `flows` ((None, None) when empty).

    Baselines start at the earliest (an account registered before the data starts has no visible
    history before it); a look-back without an explicit end stops at the latest, so a workspace
    loaded from a week-old export is not profiled over a week of silence.
    """
    def read() -> tuple[Any, Any]:
        row = db.execute("SELECT min(ts), max(ts) FROM flows WHERE layer = 'exchange'").rows[0]
        return row[0], row[1]

    return db.cached("introspect.data_span", read)


#: A look-up table of at most this many rows is read whole, once per connection (shared with its
#: forks): a case looks up one alert, a few accounts and dozens of addresses, and each statement
#: costs about 1 ms of DuckDB set-up for a few rows. Larger tables are queried per look-up.
SMALL_TABLE_ROWS = 200_000
SMALL = "introspect.small:"


def is_small(db: Database, table: str) -> bool:
    """True when the table exists and has at most SMALL_TABLE_ROWS rows (counted once per root
    connection): `small_table` reads it whole; a batch holds only its own rows of a larger one."""
    assert table.isidentifier(), table  # a code-authored table name, joined into the count below
    return db.cached(f"{SMALL}{table}#small", lambda: bool(table_columns(db, table))
                     and db.scalar(f"SELECT count(*) FROM {table}") <= SMALL_TABLE_ROWS)


def small_table(db: Database, table: str, read: Callable[[], T], view: str = "") -> T | None:
    """What `read` makes of `table` when it is small (`is_small`), read once per root connection
    (`view` names it when two callers hold the table differently); None when the table is larger
    or absent (the caller then queries it)."""
    return db.cached(f"{SMALL}{table}:{view}", lambda: read() if is_small(db, table) else None)


def forget_small_tables(db: Database) -> None:
    """Drop what `small_table` holds for this connection (tests compare both paths)."""
    db.forget_cached(SMALL)
