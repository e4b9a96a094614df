"""The schema as the model sees it, read from the workspace database itself.

Tables, columns and types come from DuckDB's catalog (so the text is exact for this workspace,
including extra columns a loader kept); the one-line meanings come from the import contract
(tools/schema.py) plus the derived `flows` and `meta` tables. Row counts tell a small model which
tables are worth querying. The same table list is the sql guard's allowlist.
"""

from __future__ import annotations

from tools.db import Database
from tools.schema import TABLES, TABLES_BY_NAME

FLOWS_MEANING = ("Derived: every transaction and chain transfer seen from each side, one row per entity "
                 "and direction; the easiest table for fund-flow questions")
FLOWS_COLUMNS: dict[str, str] = {
    "entity": "account id or address whose side this row describes (EVM addresses lower-cased)",
    "counterparty": "the other side of the movement",
    "direction": "in (entity received) or out (entity sent)",
    "ts": "when it happened (UTC)",
    "txn_id": "transaction id (exchange layer) or on-chain transaction hash (chain layer)",
    "kind": "transaction kind as in transactions.kind (exchange layer)",
    "asset": "asset moved",
    "amount_usd": "value in USD at the time",
    "chain": "blockchain for crypto movements",
    "layer": "exchange (from transactions) or chain (from chain_transfers)",
}
META_MEANING = "Workspace facts as key/value text (data as-of date, load time, source)"
META_COLUMNS: dict[str, str] = {"key": "name of the fact", "value": "its value, as text"}
# Columns the loader derives beyond the contract.
EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    "addresses": {"address_norm": "address spelled as in flows.entity (EVM lower-cased); join flows on this"},
}

_MAX_META_KEYS = 12


def workspace_tables(db: Database) -> list[str]:
    """Names of the tables and views in the workspace's main schema, contract order first."""
    res = db.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    )
    names = [r[0] for r in res.rows]
    order = {t.name: i for i, t in enumerate(TABLES)} | {"flows": len(TABLES), "meta": len(TABLES) + 1}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def workspace_catalog(db: Database) -> str:
    """The database (catalog) name of the workspace connection."""
    return str(db.scalar("SELECT current_database()"))


def describe_schema(db: Database, compact: bool = False) -> str:
    """Text of every workspace table: name, row count, meaning, then `column TYPE - meaning`.

    `compact` gives one line per table (columns and types, no column meanings) for tight prompts.
    """
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in db.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "ORDER BY table_name, ordinal_position"
    ).rows:
        columns.setdefault(table, []).append((column, dtype))

    lines = ["DuckDB workspace tables (read-only; query with one SELECT; ids and addresses are text):"]
    for table in workspace_tables(db):
        count = db.scalar(f"SELECT count(*) FROM main.{_quote(table)}")
        meaning, col_meanings = _meanings(table)
        if compact:
            cols = ", ".join(f"{c} {t}" for c, t in columns.get(table, []))
            lines.append(f"{table} ({count} row{'' if count == 1 else 's'}" + (f"; {meaning}" if meaning else "")
                         + f"): {cols}")
            continue
        lines.append(f"{table} ({count} row{'' if count == 1 else 's'})" + (f": {meaning}" if meaning else ""))
        for column, dtype in columns.get(table, []):
            note = col_meanings.get(column)
            lines.append(f"  {column} {dtype}" + (f" - {note}" if note else ""))
        if table == "meta" and count:
            keys = [r[0] for r in db.execute(
                f"SELECT DISTINCT CAST(key AS VARCHAR) FROM main.meta ORDER BY 1 LIMIT {_MAX_META_KEYS}").rows]
            lines.append("  keys: " + ", ".join(keys))
    return "\n".join(lines)


def _meanings(table: str) -> tuple[str, dict[str, str]]:
    if table == "flows":
        return FLOWS_MEANING, FLOWS_COLUMNS
    if table == "meta":
        return META_MEANING, META_COLUMNS
    spec = TABLES_BY_NAME.get(table)
    if spec is None:
        return "", {}
    return spec.meaning, {c.name: c.meaning for c in spec.columns} | EXTRA_COLUMNS.get(table, {})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
