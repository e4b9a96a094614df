"""Guarded SQL over the workspace: validate, run under the time limit with a row cap, record evidence.

`guarded_query` is for callers that want exceptions (the `sleuth sql` command); `run_sql` is the
agent's tool: mistakes a model can fix (a rejected statement, an unknown column, a syntax error, a
query that ran past the time limit) come back as evidence with `error` set, so the model reads
the reason and tries again. Anything else is a bug and raises.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from tools.db import Database, QueryFailed, QueryTimeout
from tools.evidence import Evidence, EvidenceLedger
from tools.schema_text import workspace_catalog, workspace_tables
from tools.settings import load_settings
from tools.sql_guard import SqlRejected, validate_sql

Params = list[Any] | dict[str, Any] | None

@dataclass
class SqlResult:
    """Rows of one guarded query; `query` is the normalised statement that actually ran."""

    query: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    row_cap: int
    elapsed_ms: float


def allowlist(db: Database) -> tuple[tuple[str, ...], str]:
    """The workspace's table names and catalog name, asked once per database (it is read-only)."""
    return db.cached("sql.allowlist", lambda: (tuple(workspace_tables(db)), workspace_catalog(db)))


@functools.lru_cache(maxsize=1024)
def validated(query: str, tables: tuple[str, ...], catalog: str, max_rows: int) -> str:
    """validate_sql, remembered: playbook steps send the same statements for every alert, and
    parsing twice (sqlglot, then DuckDB's own parser) costs more than running them. Rejections
    raise and are therefore never cached."""
    return validate_sql(query, tables=tables, catalog=catalog, max_rows=max_rows)


def guarded_query(db: Database, query: str, params: Params = None, row_cap: int | None = None) -> SqlResult:
    """Validate and run one untrusted SELECT; raises SqlRejected, QueryFailed or QueryTimeout."""
    cap = load_settings().sql_row_cap if row_cap is None else row_cap
    if cap < 1:
        raise ValueError(f"row_cap must be at least 1, got {cap}")
    tables, catalog = allowlist(db)
    sql = validated(query, tables, catalog, cap + 1)
    res = db.execute(sql, params, max_rows=cap + 1)
    return SqlResult(sql, res.columns, [settle(r) for r in res.rows[:cap]], len(res.rows) > cap, cap, res.elapsed_ms)


def settle(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Floats to 10 significant digits: the last digits of a sum depend on the order DuckDB adds in
    (its threads, a batch's plan), which is not a fact, and a case must read the same either way."""
    return tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row)


def run_sql(db: Database, ledger: EvidenceLedger, query: str, params: Params = None,
            row_cap: int | None = None) -> Evidence:
    """Run one untrusted SELECT and record it; model-fixable failures are recorded with `error`."""
    args: dict[str, Any] = {"query": query}
    if params is not None:
        args["params"] = params
    start = time.perf_counter()
    try:
        res = held_result(db, query, params, row_cap) or guarded_query(db, query, params, row_cap)
    except SqlRejected as e:
        return ledger.record("sql", args, query=query, error=f"rejected: {e}", elapsed_ms=_ms(start))
    except QueryTimeout as e:
        return ledger.record("sql", args, query=query, elapsed_ms=_ms(start),
                             error=f"{e}; filter with WHERE (an account id, a time range), aggregate, or "
                                   "avoid joining a large table to itself")
    except QueryFailed as e:
        return ledger.record("sql", args, query=query, elapsed_ms=_ms(start),
                             error=f"query failed: {e}; check table and column names against the schema")
    ev = ledger.record("sql", args, query=res.query, columns=res.columns, rows=res.rows,
                       summary=summarise(res), elapsed_ms=res.elapsed_ms)
    if res.truncated:
        ev.truncated = True  # cut by the SQL row cap even when the ledger kept every fetched row
    return ev


def held_result(db: Database, query: str, params: Params, row_cap: int | None) -> SqlResult | None:
    """This case's result from a batch's one statement (`tools.sql_batch`), if it was held."""
    from tools.sql_batch import KIND, held_key

    if not isinstance(params, dict | None):
        return None
    res = db.held.take(KIND, held_key(query, params))
    if res is None:
        return None
    return res if res.row_cap == (load_settings().sql_row_cap if row_cap is None else row_cap) else None


def summarise(res: SqlResult) -> str:
    """One line a model can read: how many rows, and what to do when they were cut."""
    n = len(res.rows)
    if res.truncated:
        return (f"more than {res.row_cap} rows; only the first {res.row_cap} were fetched "
                "(add WHERE, GROUP BY or LIMIT to narrow it)")
    if n == 0:
        return "no rows: the query found nothing"
    return "1 row" if n == 1 else f"{n} rows"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
