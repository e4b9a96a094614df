"""The loader's checks, written as DuckDB SQL so they scale to tens of millions of rows.

Three kinds, all reading a relation that carries a row-number column (`ROW_COLUMN`):
- value checks, one scan per file: empty required values, values that do not cast to the contract
  type, enumerations, ranges, non-finite numbers, country codes;
- duplicate keys (`Table.key`), a hash aggregate;
- references to accounts: alerts, logins and P2P orders name accounts, and a transaction's kind
  says which side must be an account (`ACCOUNT_SIDES`).

Each check is a query returning `(row, column, message)` rows; `sampled` wraps it so DuckDB counts
every problem but returns only the first few, so a file with millions of bad rows costs no memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.data.sources import ROW_COLUMN, SourceFile, ident, lit
from tools.schema import Column, Table

R = ident(ROW_COLUMN)

NULLABLE: frozenset[tuple[str, str]] = frozenset({
    ("alerts", "description"),
    ("logins", "ip"),
    ("logins", "device_id"),
    ("logins", "country"),
    ("p2p_orders", "payment_method"),
    ("addresses", "chain"),
    ("addresses", "source"),
})
"""Required columns whose values may be empty: descriptive fields an export may lack for a row.
Every other required column must have a value in every row."""

COUNTRY_COLUMNS: frozenset[tuple[str, str]] = frozenset({("accounts", "country"), ("logins", "country")})

ACCOUNT_SIDES: dict[str, tuple[str, ...]] = {
    "fiat_deposit": ("dst",),
    "crypto_deposit": ("dst",),
    "fiat_withdrawal": ("src",),
    "crypto_withdrawal": ("src",),
    "internal_transfer": ("src", "dst"),
    "trade": ("src", "dst"),
    "p2p_trade": ("src", "dst"),
}
"""Which side of a transaction must be an exchange account, by kind (docs/import-format.md). A P2P
trade is the crypto release from the seller's account to the buyer's, both customers (as the
`p2p_orders` buyer and seller must be)."""

SIDE_WORDS = {"src": "sender", "dst": "receiver"}

TYPE_WORDS = {
    "TIMESTAMP": "unparseable timestamp {v} (use ISO 8601, e.g. 2026-10-31T23:59:59Z)",
    "DATE": "unparseable date {v} (use YYYY-MM-DD)",
    "DOUBLE": "{v} is not a number",
    "INTEGER": "{v} is not a whole number",
    "BOOLEAN": "{v} is not a boolean (true/false)",
}


def shown(expr: str) -> str:
    """SQL for a value quoted for a message, cut to 60 characters."""
    return f"('''' || left(CAST({expr} AS VARCHAR), 60) || '''')"


def cast_sql(col: Column, source: str, source_type: str) -> str:
    """SQL reading source column `source` (of DuckDB type `source_type`) as the contract type.

    A failed cast is NULL (TRY_CAST), so one scan can both convert and detect bad values.
    Timestamps with an offset are converted to UTC (the connection's time zone is UTC); a naive
    timestamp is taken as UTC. An INTEGER column refuses `2.5` rather than rounding it.
    """
    s = ident(source)
    target = col.type
    if target == "VARCHAR":
        return s if source_type == "VARCHAR" else f"CAST({s} AS VARCHAR)"
    if target == "TIMESTAMP":
        if source_type == "VARCHAR" or source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"(TRY_CAST({s} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
        return f"TRY_CAST({s} AS TIMESTAMP)"
    if target == "INTEGER" and (source_type in ("VARCHAR", "DOUBLE", "FLOAT") or source_type.startswith("DECIMAL")):
        d = f"TRY_CAST({s} AS DOUBLE)"
        return f"(CASE WHEN {d} = floor({d}) THEN TRY_CAST({d} AS INTEGER) END)"
    return f"TRY_CAST({s} AS {target})"


INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT")
NUMBER_TYPES = (*INTEGER_TYPES, "FLOAT", "DOUBLE", "DECIMAL")
COMPATIBLE: dict[str, tuple[str, ...]] = {
    "TIMESTAMP": ("TIMESTAMP", "DATE"),
    "DATE": ("DATE", "TIMESTAMP"),
    "DOUBLE": NUMBER_TYPES,
    "INTEGER": NUMBER_TYPES,
    "BOOLEAN": ("BOOLEAN",),
}
"""Typed (Parquet) source types each contract type accepts, by prefix; text is always accepted."""


def compatible(target: str, source_type: str) -> bool:
    """Whether a typed source column can hold values of the contract type (text always can).

    A BIGINT epoch in a timestamp column would TRY_CAST to NULL on every row; saying once that the
    column has the wrong type is the useful message.
    """
    if target == "VARCHAR" or source_type == "VARCHAR":
        return True
    return source_type.startswith(COMPATIBLE.get(target, (target,)))


def _is_empty(source: str, source_type: str) -> str:
    s = ident(source)
    return f"({s} IS NULL OR {s} = '')" if source_type == "VARCHAR" else f"({s} IS NULL)"


def _column_conditions(table: Table, col: Column, source: str, source_type: str) -> list[tuple[str, str]]:
    """(condition, message SQL) pairs for one column; a condition true means a problem."""
    s, c = ident(source), cast_sql(col, source, source_type)
    out: list[tuple[str, str]] = []
    empty = _is_empty(source, source_type)
    if col.required and (table.name, col.name) not in NULLABLE:
        out.append((empty, lit("empty value in a required column")))
    if col.type != "VARCHAR":
        template = TYPE_WORDS.get(col.type, "{v} is not a " + col.type)
        before, after = template.split("{v}")
        msg = f"({lit(before)} || {shown(s)} || {lit(after)})"
        out.append((f"(NOT {empty} AND {c} IS NULL)", msg))
    if col.type == "DOUBLE":
        out.append((f"(NOT isfinite({c}))", f"({shown(s)} || ' is not a finite number')"))
    if col.enum:
        allowed = ", ".join(col.enum)
        cond = f"({c} NOT IN ({', '.join(lit(v) for v in col.enum)}) AND NOT {empty})"
        out.append((cond, f"({shown(s)} || {lit(f' is not an allowed {col.name}: use one of {allowed}')})"))
    if col.min_value is not None:
        word = "negative" if col.min_value == 0 else f"below the minimum {col.min_value:g}"
        out.append((f"({c} < {col.min_value!r})", f"({shown(s)} || {lit(f' is {word}')})"))
    if col.max_value is not None:
        out.append((f"({c} > {col.max_value!r})",
                    f"({shown(s)} || {lit(f' is above the maximum {col.max_value:g}')})"))
    if (table.name, col.name) in COUNTRY_COLUMNS:
        out.append((f"(NOT {empty} AND NOT regexp_full_match({s}, '[A-Za-z]{{2}}'))",
                    f"({shown(s)} || ' is not an ISO-2 country code')"))
    return out


def value_check_sql(src: SourceFile, raw: str) -> str | None:
    """Problem rows `(row, column, message)` of every value check on one file, in one scan."""
    pairs: list[tuple[str, str, str]] = []
    for name, source in src.mapping.items():
        col = src.table.column(name)
        assert col is not None
        for cond, msg in _column_conditions(src.table, col, source, src.types[source]):
            pairs.append((name, cond, msg))
    if not pairs:
        return None
    items = ", ".join(f"CASE WHEN {cond} THEN {{'c': {lit(name)}, 'm': {msg}}} END" for name, cond, msg in pairs)
    where = " OR ".join(f"coalesce({cond}, false)" for _, cond, _ in pairs)
    return (f"SELECT {R} AS row, p.c AS col, p.m AS msg FROM "
            f"(SELECT {R}, unnest([{items}]) AS p FROM {raw} WHERE {where}) WHERE p IS NOT NULL")


def duplicate_sql(table: Table, rel: str) -> str:
    """Problem rows for every repeat of a key value after its first occurrence."""
    assert table.key is not None
    k = ident(table.key)
    return (f"WITH d AS (SELECT {k} AS k, min({R}) AS first FROM {rel} WHERE {k} IS NOT NULL "
            f"GROUP BY {k} HAVING count(*) > 1) "
            f"SELECT t.{R} AS row, {lit(table.key)} AS col, "
            f"'duplicate {table.key} ' || {shown('t.' + k)} || ' (first on row ' || d.first || ')' AS msg "
            f"FROM {rel} t JOIN d ON t.{k} = d.k WHERE t.{R} IS NULL OR t.{R} > d.first")


@dataclass(frozen=True)
class Reference:
    """A column that must name an exchange account, optionally only for some transaction kinds."""

    table: str
    column: str
    message: str
    kinds: tuple[str, ...] = ()


def references() -> list[Reference]:
    """Every account reference the contract implies."""
    refs = [
        Reference("alerts", "account_id", "alert on unknown account {v}"),
        Reference("logins", "account_id", "login event for unknown account {v}"),
        Reference("p2p_orders", "buyer", "buyer {v} is not a known account"),
        Reference("p2p_orders", "seller", "seller {v} is not a known account"),
    ]
    for side in ("src", "dst"):
        kinds = tuple(k for k, sides in ACCOUNT_SIDES.items() if side in sides)
        refs.append(Reference("transactions", side, f"{side} {{v}} is not a known account "
                              f"(the {SIDE_WORDS[side]} of this kind of transaction must be an account)", kinds))
    return refs


def reference_sql(ref: Reference, rel: str, accounts_rel: str) -> str:
    """Problem rows whose reference names no row of `accounts`."""
    col = ident(ref.column)
    where = f"{col} IS NOT NULL"
    if ref.kinds:
        where += f" AND kind IN ({', '.join(lit(k) for k in ref.kinds)})"
    before, after = ref.message.split("{v}")
    msg = f"{lit(before)} || {shown('t.' + col)} || {lit(after)}"
    if ref.kinds:
        msg += " || ' (' || t.kind || ')'"
    return (f"SELECT t.{R} AS row, {lit(ref.column)} AS col, {msg} AS msg "
            f"FROM (SELECT {R}, {col}, {'kind' if ref.kinds else 'NULL AS kind'} FROM {rel} WHERE {where}) t "
            f"ANTI JOIN (SELECT account_id FROM {accounts_rel}) a ON t.{col} = a.account_id")


def alert_txn_ids_sql(alerts_rel: str, transactions_rel: str) -> str:
    """Problem rows for alert `txn_ids` entries (`;`-separated, spaces allowed) naming no transaction.

    The lookup probes the big transactions table with the few ids the alerts name, rather than
    building a hash table of every transaction id.
    """
    return (f"WITH ids AS (SELECT * FROM (SELECT {R}, trim(unnest(string_split(txn_ids, ';'))) AS id "
            f"FROM {alerts_rel} WHERE txn_ids IS NOT NULL) WHERE id <> ''), "
            f"known AS (SELECT txn_id FROM {transactions_rel} WHERE txn_id IN (SELECT id FROM ids)) "
            f"SELECT i.{R} AS row, 'txn_ids' AS col, 'unknown transaction ' || {shown('i.id')} AS msg "
            f"FROM ids i WHERE i.id NOT IN (SELECT txn_id FROM known)")


def sampled(problem_sql: str, limit: int) -> str:
    """The first `limit` problem rows by row number, each with the total count of problems."""
    return (f"SELECT row, col, msg, count(*) OVER () AS n FROM ({problem_sql}) "
            f"ORDER BY row NULLS LAST, col LIMIT {limit}")
