"""How the workspace database is laid out: contract tables, `flows`, `meta`, entity normalisation.

- Contract tables keep every contract column (typed as `tools.schema` says; optional columns a file
  lacks are NULL, optional tables a folder lacks exist with no rows), then the file's extra columns
  as they came (CSV extras as VARCHAR). `alerts.status` is 'open' where the file has none. Rows are
  sorted by the table's `sort_by` so DuckDB's zone maps skip most row groups for a time filter.
- `addresses.address_norm`: the address normalised like `flows.entity` (below), for joins.
- `flows`: one row per side of every transaction and chain transfer, sorted by `entity, ts`, so
  "everything that touched X" is a zone-map range scan instead of `src = X OR dst = X` over the whole
  table. The sender gets `direction = 'out'` with the receiver as counterparty, the receiver gets
  `'in'`. A movement whose two sides are the same entity (a trade: src = dst = the account) gets a
  single `'self'` row with itself as counterparty, so trading activity still counts per account.
  `layer` is 'exchange' for transactions and 'chain' for chain transfers (whose `kind` is
  'chain_transfer' and `txn_id` the tx hash).
- `p2p_sides`: one row per P2P order and side (`account_id`, `role` 'buyer'/'seller',
  `counterparty`, then the order's other columns), sorted by `account_id, ts` like `flows`, so one
  account's orders are a range scan instead of `buyer = X OR seller = X` over all orders.
- Entity normalisation: EVM addresses (0x + 40 hex digits) are case-insensitive, so `flows.entity`,
  `flows.counterparty` and `addresses.address_norm` hold them lower-cased; every other id is kept
  as it is. The contract tables keep the original spelling.
- Row groups of ROW_GROUP_SIZE rows (DuckDB's default is 122,880): an investigation is dozens of
  point look-ups (`flows.entity = X`, `transactions.txn_id IN (...)`), and a zone map can only skip
  whole row groups, so smaller groups mean fewer rows read per look-up (flows look-ups on the sample
  went from 2.7 to under 1 ms) at a small cost in compression and full scans.
- `meta(key, value)`: when and from where the workspace was loaded, the contract version, row
  counts (`rows.<table>`) and source files (`file.<table>`).
"""

from __future__ import annotations

import hashlib

from tools import schema
from tools.data.checks import cast_sql
from tools.data.sources import ROW_COLUMN, SourceFile, ident, lit
from tools.schema import Table

ROW_GROUP_SIZE = 8192
DERIVED: dict[str, list[tuple[str, str]]] = {}
FLOWS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("entity", "VARCHAR"),
    ("counterparty", "VARCHAR"),
    ("direction", "VARCHAR"),
    ("ts", "TIMESTAMP"),
    ("txn_id", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("asset", "VARCHAR"),
    ("amount_usd", "DOUBLE"),
    ("chain", "VARCHAR"),
    ("layer", "VARCHAR"),
)


def norm_sql(expr: str) -> str:
    """SQL normalising an entity id: EVM addresses lower-cased, anything else unchanged.

    The length test runs first so the regular expression only sees 42-character ids.
    """
    return (f"(CASE WHEN length({expr}) <> 42 THEN {expr} "
            f"WHEN regexp_full_match({expr}, '0[xX][0-9a-fA-F]{{40}}') THEN lower({expr}) ELSE {expr} END)")


DERIVED["addresses"] = [("address_norm", norm_sql(ident("address")))]


def contract_version() -> str:
    """The contract's version: `tools.schema.CONTRACT_VERSION` if set, else a digest of its tables."""
    explicit = getattr(schema, "CONTRACT_VERSION", None)
    if explicit:
        return str(explicit)
    text = repr([(t.name, [(c.name, c.type, c.enum) for c in t.columns]) for t in schema.TABLES])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _extra_name(name: str, taken: set[str]) -> str:
    clean = name.strip() or "column"
    while clean.lower() in taken:
        clean = f"source_{clean}"
    taken.add(clean.lower())
    return clean


def select_list(table: Table, src: SourceFile, with_row: bool = False) -> str:
    """The typed SELECT list turning a file's raw columns into the workspace table's columns."""
    parts = [ident(ROW_COLUMN)] if with_row else []
    taken = {c.name for c in table.columns} | {name for name, _ in DERIVED.get(table.name, [])}
    for col in table.columns:
        source = src.mapping.get(col.name)
        expr = cast_sql(col, source, src.types[source]) if source else f"NULL::{col.type}"
        if (table.name, col.name) == ("alerts", "status"):
            expr = f"coalesce({expr}, 'open')"
        parts.append(f"{expr} AS {ident(col.name)}")
    parts += [f"{expr} AS {ident(name)}" for name, expr in DERIVED.get(table.name, [])]
    taken.add(ROW_COLUMN.lower())
    for extra in src.extras:
        if extra.strip().lower() == ROW_COLUMN:
            continue
        parts.append(f"{ident(extra)} AS {ident(_extra_name(extra, taken))}")
    return ", ".join(parts)


def create_table_sql(table: Table, src: SourceFile) -> str:
    """CREATE TABLE for a contract table from its file, typed and sorted."""
    order = f" ORDER BY {', '.join(ident(c) for c in table.sort_by)}" if table.sort_by else ""
    return f"CREATE TABLE {ident(table.name)} AS SELECT {select_list(table, src)} FROM {src.raw_sql()}{order}"


def create_empty_sql(table: Table) -> str:
    """CREATE TABLE for an optional contract table the folder does not have: the columns, no rows."""
    cols = [f"{ident(c.name)} {c.type}" for c in table.columns]
    cols += [f"{ident(name)} VARCHAR" for name, _ in DERIVED.get(table.name, [])]
    return f"CREATE TABLE {ident(table.name)} ({', '.join(cols)})"


def create_flows_sql() -> str:
    """CREATE TABLE flows: both sides of every movement, sorted by entity then time."""
    src, dst = norm_sql("src"), norm_sql("dst")
    return f"""
CREATE TABLE flows AS
WITH m AS (
    SELECT {src} AS s, {dst} AS d, ts, txn_id, kind, asset, amount_usd, chain, 'exchange' AS layer
    FROM transactions
    UNION ALL
    SELECT {src}, {dst}, ts, tx_hash, 'chain_transfer', asset, amount_usd, chain, 'chain'
    FROM chain_transfers
)
SELECT s AS entity, d AS counterparty, CASE WHEN s = d THEN 'self' ELSE 'out' END AS direction,
       ts, txn_id, kind, asset, amount_usd, chain, layer
FROM m
UNION ALL
SELECT d, s, 'in', ts, txn_id, kind, asset, amount_usd, chain, layer FROM m WHERE s <> d
ORDER BY entity, ts
"""


def create_p2p_sides_sql() -> str:
    """CREATE TABLE p2p_sides: both sides of every P2P order, sorted by account then time."""
    return """
CREATE TABLE p2p_sides AS
SELECT * FROM (
    SELECT buyer AS account_id, 'buyer' AS role, seller AS counterparty, * EXCLUDE (buyer, seller) FROM p2p_orders
    UNION ALL
    SELECT seller, 'seller', buyer, * EXCLUDE (buyer, seller) FROM p2p_orders
) ORDER BY account_id, ts
"""


def meta_sql(items: dict[str, str]) -> str:
    """CREATE TABLE meta with the given key/value pairs."""
    values = ", ".join(f"({lit(k)}, {lit(v)})" for k, v in items.items())
    return f"CREATE TABLE meta AS SELECT * FROM (VALUES {values}) AS t(key, value) ORDER BY key"
