"""Property: whatever the guard accepts is harmless even WITHOUT the other defences.

Statements are generated from a grammar of SQL keywords, workspace tables, reader functions, file
names, comments, statement separators and case changes. Every statement the guard accepts is run
on a copy of the workspace through a plain read-write DuckDB connection (external access on,
configuration unlocked: only the guard stands in the way); afterwards the copy must have the same
bytes and its directory (also the working directory) the same files.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import sql_workspace as sw
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tools.sql_guard import SqlRejected, validate_sql

TABLES = ["accounts", "transactions", "alerts", "addresses", "logins", "p2p_orders", "chain_transfers", "flows", "meta"]
SOURCES = TABLES * 3 + [
    "main.accounts", "sleuth.main.flows", "system.main.accounts", "information_schema.tables", "t0", "canary",
    "'canary.csv'", '"canary.csv"', "'out.parquet'", "(FROM 'canary.csv')", "(SELECT 1 AS x)",
    "read_csv('canary.csv')", "read_text('canary.csv')", "glob('*')", "read_parquet('canary.parquet')",
    "sqlite_scan('canary.db', 't')", "query('SELECT 1')", "duckdb_settings()", "duckdb_tables()",
    "range(3)", "generate_series(1, 2)", "unnest([1, 2])", "repeat_row(1, num_rows = 2)",
]
BENIGN_EXPRS = [
    "1", "*", "count(*)", "amount_usd", "upper(kind)", "'x'", "NULL", "random()", "txn_id || ';'", "[1, 2]",
    "$$a$$", "'--'", "'/*'", "md5('a')", "now()", "sum(amount_usd) OVER ()", "list_transform([1], lambda x: x + 1)",
]
EXPRS = BENIGN_EXPRS * 2 + [
    "getenv('HOME')", "current_setting('threads')", "'threads'.current_setting()", "read_text('canary.csv')",
    "nextval('s')", "setseed(0.5)", "write_log('x')", "main.read_csv('canary.csv')",
    "(SELECT count(*) FROM {source})", "(SELECT max(x) FROM {source} s(x))",
]
CONDS = ["true", "amount_usd > 10", "kind = 'trade'", "EXISTS (SELECT 1 FROM {source})",
         "txn_id IN (SELECT txn_id FROM {source})", "1 = 1 -- c\n", "memo IS NULL"]
PREFIXES = ["", "/* x */ ", "-- x\n", "WITH t0 AS (SELECT 1 AS x) ", "WITH t0 AS (SELECT * FROM {source}) "] * 3 + [
            "EXPLAIN ", "COPY (", "CREATE TABLE y AS ", "INSERT INTO meta ", "CREATE VIEW v AS ", "PRAGMA ", "SET x = "]
SUFFIXES = ["", ";", " LIMIT 5", " -- c", " /* c */", "\n;", " UNION ALL SELECT * FROM {source}"] * 3 + [
            "; DROP TABLE accounts", ") TO 'out.csv'",
            "; COPY accounts TO 'out.csv'", "; SET threads = 1", "; ATTACH 'x.db' AS x", "; INSTALL httpfs",
            "; CHECKPOINT", "; CREATE TABLE z AS SELECT 1"]
TOKENS = ["SELECT", "FROM", "WHERE", "WITH", "AS", "(", ")", ",", ";", "*", "'canary.csv'", "COPY", "TO", "ATTACH",
          "DROP", "TABLE", "INSERT", "INTO", "SET", "PRAGMA", "LOAD", "read_csv", "glob", "accounts", "flows", "--",
          "/*", "*/", "1", "'x'", "UNION", "ALL", "JOIN", "ON", "true", "LATERAL", "CALL", "CHECKPOINT"]
CASES: list[Callable[[str], str]] = [str, str, str.upper, str.lower, str.swapcase]


@st.composite
def statements(draw: st.DrawFn) -> str:
    """One SQL-ish string: mostly well-formed selects with hostile parts, sometimes token soup."""
    if draw(st.integers(0, 9)) == 0:
        return " ".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12)))

    def fill(template: str) -> str:
        return template.replace("{source}", draw(st.sampled_from(SOURCES)))

    exprs = ", ".join(fill(e) for e in draw(st.lists(st.sampled_from(EXPRS), min_size=1, max_size=3)))
    sql = f"SELECT {exprs} FROM {draw(st.sampled_from(SOURCES))}"
    if draw(st.booleans()):
        sql += f" WHERE {fill(draw(st.sampled_from(CONDS)))}"
    sql = fill(draw(st.sampled_from(PREFIXES))) + sql + fill(draw(st.sampled_from(SUFFIXES)))
    return draw(st.sampled_from(CASES))(sql)


@pytest.fixture(scope="module")
def copy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("prop")
    sw.build(directory / "sleuth.duckdb")
    (directory / "canary.csv").write_text("a,b\nsecret,1\n")
    (directory / "canary.db").write_bytes(b"not really sqlite")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'secret' AS a) TO '{directory / 'canary.parquet'}' (FORMAT parquet)")
    con.close()
    return directory


def _run_unprotected(path: Path, sql: str) -> str:
    """Run on a read-write connection with every DuckDB default: the guard is the only defence."""
    con = duckdb.connect(str(path))
    timer = threading.Timer(2.0, con.interrupt)
    timer.start()
    try:
        con.execute(sql).fetchmany(20)
        return "ran"
    except duckdb.Error:
        return "failed"  # an unknown column or a type error is fine: only side effects matter here
    finally:
        timer.cancel()
        con.close()


def test_whatever_the_guard_accepts_leaves_no_trace(copy_dir: Path) -> None:
    db_path = copy_dir / "sleuth.duckdb"
    before_db, before_dir = sw.digest(db_path), sw.listing(copy_dir)
    stats: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(statements())
    @example("SELECT count(*) FROM transactions WHERE kind = 'trade' -- ; DROP TABLE accounts")
    @example("WITH t0 AS (SELECT 1 AS x) SELECT * FROM t0 /* ; COPY accounts TO 'out.csv' */")
    @example("select sum(x) from range(3) t(x);")
    def check(sql: str) -> None:
        try:
            normalised = validate_sql(sql, tables=TABLES, catalog="sleuth")
        except SqlRejected:
            stats["rejected"] += 1
            event("rejected")
            return
        outcome = _run_unprotected(db_path, normalised)
        stats[outcome] += 1
        event(f"accepted and {outcome}")
        assert sw.digest(db_path) == before_db, f"database bytes changed after {normalised!r}"
        assert sw.listing(copy_dir) == before_dir, f"files appeared or changed after {normalised!r}"

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(copy_dir)  # relative paths in generated statements resolve into the watched directory
        check()
    # The grammar must exercise both sides, or the property says nothing.
    assert stats["rejected"] >= 50, stats
    assert stats["ran"] + stats["failed"] >= 40 and stats["ran"] >= 25, stats
