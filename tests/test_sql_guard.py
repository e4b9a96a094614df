"""The sql tool end to end: what the guard accepts (and that normalising keeps the meaning), the
evidence run_sql records, the time limit, the schema text, the CLI command, the LangChain tools,
and the DuckDB connection refusing on its own what the guard also refuses (defence in depth)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sql_workspace as sw
from langchain_core.messages import ToolMessage

from tools.db import Database, QueryFailed
from tools.evidence import Evidence, EvidenceLedger
from tools.lc import TOOLS, make_tools
from tools.schema import TABLES
from tools.schema_text import describe_schema, workspace_tables
from tools.settings import load_settings
from tools.sql import allowlist, guarded_query, run_sql
from tools.sql_guard import SqlRejected, is_denied_function, validate_sql

ALL_TABLES = [t.name for t in TABLES] + ["flows", "meta"]

# Analyst questions a model plausibly asks; each must pass the guard and mean the same after
# normalisation (compared against running the original text directly).
GOOD = [
    "SELECT * FROM accounts",
    "FROM transactions ORDER BY ts LIMIT 3",
    "select kind, count(*) n from transactions group by all order by n desc, kind",
    "WITH a AS (SELECT src, sum(amount_usd) s FROM transactions GROUP BY src) SELECT * FROM a WHERE s > 100 ORDER BY src",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r",
    "SELECT sum(x) FROM range(10) t(x)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT unnest([1, 2, 3]) AS v",
    "SELECT * FROM unnest(['a', 'b']) u(v)",
    "SELECT count(*) FROM transactions WHERE memo GLOB 'r*' OR memo LIKE '%e%' OR memo ILIKE 'X'",
    "SELECT count(*) FROM main.accounts",
    'SELECT count(*) FROM "Accounts"',
    "SELECT date_trunc('day', ts) d, round(sum(amount_usd), 2) FROM transactions "
    "WHERE ts >= TIMESTAMP '2026-03-01' - INTERVAL 30 DAY AND ts < TIMESTAMP '2026-03-01' GROUP BY 1 ORDER BY 1",
    "SELECT src, txn_id, row_number() OVER (PARTITION BY src ORDER BY ts) rn FROM transactions QUALIFY rn = 1 ORDER BY src",
    "SELECT a.account_id, count(t.txn_id) FROM accounts a LEFT JOIN transactions t ON t.src = a.account_id "
    "WHERE a.country IN ('DE', 'FR') GROUP BY 1 ORDER BY 1",
    "SELECT account_id FROM accounts EXCEPT SELECT src FROM transactions",
    "SELECT src FROM transactions INTERSECT SELECT account_id FROM accounts",
    "SELECT list_transform([1, 2], lambda x: x + 1)",
    "SELECT list_sort(list_filter([3, 1, 2], lambda x: x > 1))",
    "SELECT f.entity, sum(f.amount_usd) FROM flows f JOIN addresses a ON a.address = f.counterparty "
    "WHERE a.category = 'mixer' GROUP BY 1",
    "SELECT value FROM meta WHERE key = 'as_of'",
    "SELECT strftime(ts, '%Y-%m') m, count(*) FROM transactions GROUP BY m ORDER BY m",
    "SELECT string_split(txn_ids, ';') FROM alerts ORDER BY alert_id",
    "(SELECT 1) UNION ALL (SELECT 2) ORDER BY 1",
    "SELECT count(DISTINCT src) FILTER (WHERE amount_usd > 5000) FROM transactions",
    "SELECT src, list(dst ORDER BY ts)[1] FROM transactions GROUP BY src ORDER BY src",
    "SELECT amount_usd::INTEGER, CAST(ts AS DATE), TRY_CAST(memo AS INTEGER) FROM transactions ORDER BY txn_id LIMIT 5",
    "SELECT COLUMNS('amount.*') FROM transactions ORDER BY txn_id LIMIT 2",
    "SELECT * EXCLUDE (memo) FROM transactions ORDER BY txn_id LIMIT 2",
    "SELECT median(amount_usd), quantile_cont(amount_usd, 0.9), round(stddev(amount_usd), 6) FROM transactions",
    "SELECT * FROM accounts WHERE account_id IN (SELECT entity FROM flows WHERE counterparty IN "
    "(SELECT address FROM addresses WHERE category = 'mixer')) ORDER BY 1",
    "SELECT CASE WHEN amount_usd > 5000 THEN 'big' ELSE 'small' END k, count(*) FROM transactions GROUP BY k ORDER BY k",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(x, y) ORDER BY x",
    "SELECT p.*, a.country FROM p2p_orders p JOIN accounts a ON a.account_id = p.buyer WHERE p.third_party_payer",
    "SELECT count(*) FROM accounts a, LATERAL (SELECT count(*) c FROM transactions t WHERE t.src = a.account_id) x",
    "SELECT regexp_extract(description, '\\[(.*)\\]', 1) FROM alerts ORDER BY 1",
    "SELECT 'it''s' AS s, $$dollar$$ AS d -- trailing comment",
    "/* leading comment */ SELECT count(*) FROM logins;",
    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1",
]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sw.build(tmp_path_factory.mktemp("ws") / "sleuth.duckdb")


@pytest.fixture(scope="module")
def db(ws: Path) -> Database:
    with Database(ws, timeout_s=5.0) as d:
        yield d


def _sorted(rows: list[tuple]) -> list[str]:
    return sorted(repr(r) for r in rows)


@pytest.mark.parametrize("query", GOOD)
def test_good_queries_pass_and_keep_their_meaning(db: Database, query: str) -> None:
    tables, catalog = allowlist(db)
    normalised = validate_sql(query, tables=tables, catalog=catalog)
    assert ";" not in normalised.replace("';'", "")
    assert "--" not in normalised and "/*" not in normalised
    assert _sorted(db.execute(normalised).rows) == _sorted(db.execute(query).rows)


def test_normalising_upgrades_the_deprecated_lambda_arrow(db: Database) -> None:
    """DuckDB 2.0 refuses `x -> x + 1`; small models still write it, and the regenerated SQL works."""
    with pytest.raises(QueryFailed, match="Deprecated lambda arrow"):
        db.execute("SELECT list_transform([1, 2], x -> x + 1)")
    assert db.execute(validate_sql("SELECT list_transform([1, 2], x -> x + 1)")).rows == [([2, 3],)]


def test_allowlist_is_the_workspace(db: Database) -> None:
    tables, catalog = allowlist(db)
    assert list(tables) == ALL_TABLES == workspace_tables(db)
    assert catalog == "sleuth"
    assert validate_sql("SELECT count(*) FROM sleuth.main.flows", tables=tables, catalog=catalog)
    with pytest.raises(SqlRejected, match="database 'other'"):
        validate_sql("SELECT * FROM other.main.flows", tables=tables, catalog=catalog)


def test_caches_live_on_the_database_and_are_shared_with_its_forks(ws: Path) -> None:
    """One cache per database instance, made once for the root and its forks, gone with it."""
    made: list[int] = []
    with Database(ws) as db:
        fork = db.pool(2)[1]
        assert db.cached("t.a", lambda: made.append(1) or len(made)) == 1
        assert fork.cached("t.a", lambda: made.append(1) or len(made)) == 1
        assert fork.cached("t.b", lambda: db.cached("t.a", list) + 1) == 2  # one cache may use another
        assert allowlist(fork) is allowlist(db)
        db.forget_cached("t.")
        assert "t.a" not in fork.caches and "sql.allowlist" in fork.caches
        assert db.cached("t.a", lambda: made.append(1) or len(made)) == 2
    with Database(ws) as other:
        assert "t.a" not in other.caches


@pytest.mark.parametrize(("query", "reason"), [
    ("SELECT 1; SELECT 2", "only one statement"),
    ("DROP TABLE accounts", "DROP statements are not allowed"),
    ("SELECT * FROM 'x.csv'", "'x.csv' is not a workspace table.*tables: accounts"),
    ("SELECT * FROM read_csv('x.csv')", r"table function read_csv\(...\) is not allowed"),
    ("SELECT getenv('HOME')", r"function getenv\(\) is not allowed"),
    ("SELEC 1", "syntax error"),
    ("SELECT * FROM transactions WHERE", "syntax error"),
    ("", "empty query"),
    ("   -- only a comment", "empty query"),
    ("SELECT " + "1," * 10_000 + "1", "too long"),
    ("SELECT " + "(" * 80 + "1" + ")" * 80, "nested too deeply"),
    ("SELECT\u200b1", "invisible or control character"),
    ('WITH "a b" AS (SELECT 1) SELECT * FROM "a b"', "not a plain name"),
])
def test_rejections_say_what_to_do(query: str, reason: str) -> None:
    with pytest.raises(SqlRejected, match=reason):
        validate_sql(query)


def test_rejection_is_a_user_error_with_exit_code_2() -> None:
    assert SqlRejected.exit_code == 2
    assert is_denied_function("READ_CSV_AUTO") and is_denied_function("ｒｅａｄ_csv")
    assert not is_denied_function("sum") and not is_denied_function("list_transform")


def test_cte_scope_is_exact() -> None:
    assert validate_sql("WITH a AS (SELECT 1 x), b AS (SELECT * FROM a) SELECT * FROM b")
    with pytest.raises(SqlRejected, match="'b' is not a workspace table"):
        validate_sql("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a")
    with pytest.raises(SqlRejected, match="'a' is not a workspace table"):
        validate_sql("SELECT * FROM (WITH a AS (SELECT 1) SELECT 1) s, a")


# --- run_sql and evidence -------------------------------------------------------------------------

def test_run_sql_records_rows_as_evidence(db: Database) -> None:
    ledger = EvidenceLedger()
    ev = run_sql(db, ledger, "select kind, count(*) as n from transactions group by kind order by kind")
    assert isinstance(ev, Evidence) and ev.id == "E1" and ev.tool == "sql" and ev.error is None
    assert ev.columns == ["kind", "n"]
    assert ev.rows == [["crypto_withdrawal", 750], ["fiat_deposit", 750], ["internal_transfer", 750], ["trade", 750]]
    assert ev.summary == "4 rows" and not ev.truncated
    assert ev.query == "SELECT kind, COUNT(*) AS n FROM transactions GROUP BY kind ORDER BY kind LIMIT 201"
    assert ev.args == {"query": "select kind, count(*) as n from transactions group by kind order by kind"}
    assert "[E1] sql(" in ev.render()


def test_run_sql_no_rows_and_params(db: Database) -> None:
    ledger = EvidenceLedger()
    ev = run_sql(db, ledger, "SELECT * FROM accounts WHERE account_id = ?", params=["ACC-999999"])
    assert ev.summary == "no rows: the query found nothing" and ev.rows == [] and ev.error is None
    ev = run_sql(db, ledger, "SELECT kind FROM accounts WHERE account_id = $id", params={"id": "ACC-000003"})
    assert ev.rows == [["business"]] and ev.summary == "1 row" and ev.args["params"] == {"id": "ACC-000003"}


def test_run_sql_row_cap_marks_truncation(db: Database) -> None:
    ledger = EvidenceLedger(row_cap=50)
    ev = run_sql(db, ledger, "SELECT txn_id FROM transactions ORDER BY txn_id", row_cap=10)
    assert len(ev.rows) == 10 and ev.truncated and "more than 10 rows" in ev.summary
    assert ev.query.endswith("ORDER BY txn_id LIMIT 11") and ev.rows[-1] == ["T000009"]
    ev = run_sql(db, ledger, "SELECT txn_id FROM transactions ORDER BY txn_id LIMIT 10", row_cap=10)
    assert len(ev.rows) == 10 and not ev.truncated and ev.summary == "10 rows"
    assert ev.query.endswith("LIMIT 10")
    ev = run_sql(db, ledger, "SELECT src FROM transactions UNION ALL SELECT dst FROM transactions", row_cap=3)
    assert len(ev.rows) == 3 and ev.truncated and ev.query.endswith("LIMIT 4")


def test_default_row_cap_comes_from_settings(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEUTH_SQL_ROW_CAP", "7")
    res = guarded_query(db, "SELECT txn_id FROM transactions")
    assert len(res.rows) == 7 and res.truncated and res.row_cap == 7


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT nope FROM accounts", 'query failed: Binder Error: Referenced column "nope" not found'),
    ("SELECT 1 +", "rejected: syntax error"),
    ("COPY accounts TO 'x.csv'", "rejected: COPY statements are not allowed"),
    ("SELECT CAST('x' AS INTEGER)", "query failed: Conversion Error"),
])
def test_model_fixable_errors_are_evidence_not_exceptions(db: Database, query: str, message: str) -> None:
    ev = run_sql(db, EvidenceLedger(), query)
    assert ev.error is not None and ev.error.startswith(message), ev.error
    assert ev.rows == [] and ev.render().splitlines()[1].startswith("ERROR: ")


def test_runaway_query_stops_at_the_time_limit_and_the_connection_recovers(ws: Path) -> None:
    with Database(ws, timeout_s=0.5) as slow:
        ledger = EvidenceLedger()
        start = time.perf_counter()
        ev = run_sql(slow, ledger, "SELECT count(*) FROM transactions a, transactions b, transactions c "
                                   "WHERE a.amount_usd + b.amount_usd > c.amount_usd")
        took = time.perf_counter() - start
        assert ev.error is not None and "time limit of 0.5 s" in ev.error and "WHERE" in ev.error
        assert took < 3.0
        ev = run_sql(slow, ledger, "SELECT count(*) FROM transactions")
        assert ev.error is None and ev.rows == [[sw.N_TRANSACTIONS]] and ev.id == "E2"


# --- schema text ----------------------------------------------------------------------------------

def test_describe_schema_is_exact(db: Database) -> None:
    text = describe_schema(db)
    assert text.count("\n  ") > 60
    assert "transactions (3000 rows): Every movement of value" in text
    assert "flows (6002 rows): Derived" in text and "chain_transfers (1 row):" in text
    assert "  amount_usd DOUBLE - value in USD at the time" in text
    assert "  direction VARCHAR - in (entity received) or out (entity sent)" in text
    assert "  snapshot_date DATE - date of the list snapshot" in text
    assert "  keys: as_of, built_by" in text
    order = [text.index(f"\n{t} (") for t in ALL_TABLES]
    assert order == sorted(order)
    compact = describe_schema(db, compact=True)
    assert len(compact) < len(text) / 2 and "flows (6002 rows; Derived" in compact
    assert len(compact.splitlines()) == len(ALL_TABLES) + 1


def test_describe_schema_shows_extra_columns_and_tables(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "x.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE addresses (address VARCHAR, address_norm VARCHAR, colour VARCHAR)")
    con.execute("CREATE TABLE zz_notes (note VARCHAR)")
    con.close()
    with Database(path) as d:
        text = describe_schema(d)
        assert "  address_norm VARCHAR - address spelled as in flows.entity" in text
        assert "  colour VARCHAR\n" in text and text.endswith("zz_notes (0 rows)\n  note VARCHAR")
        assert allowlist(d)[0] == ("addresses", "zz_notes")


# --- defence in depth: the connection refuses on its own --------------------------------------

@pytest.mark.parametrize("statement", [
    "CREATE TABLE x AS SELECT 1",
    "INSERT INTO accounts (account_id) VALUES ('x')",
    "DELETE FROM accounts",
    "DROP TABLE accounts",
    "SELECT * FROM read_csv('{dir}/canary.csv')",
    "SELECT * FROM '{dir}/canary.csv'",
    "SELECT * FROM read_text('{dir}/canary.csv')",
    "SELECT * FROM glob('{dir}/*')",
    "COPY accounts TO '{dir}/out.csv'",
    "EXPORT DATABASE '{dir}/dump'",
    "ATTACH '{dir}/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET lock_configuration",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
])
def test_connection_layer_refuses_without_the_guard(ws: Path, statement: str) -> None:
    """Database.execute is the trusted path (no guard): read-only, no external access, locked config."""
    directory = ws.parent
    (directory / "canary.csv").write_text("a,b\n1,2\n")
    before_db, before_dir = sw.digest(ws), sw.listing(directory)
    with Database(ws) as d, pytest.raises(QueryFailed):
        d.execute(statement.format(dir=directory))
    assert sw.digest(ws) == before_db and sw.listing(directory) == before_dir


# --- CLI ------------------------------------------------------------------------------------------

def _sleuth(args: list[str], home: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the console-script entry point in-process: exit code, stdout, stderr."""
    from agent.cli import main

    monkeypatch.setattr(sys, "argv", ["sleuth", *args, "--home", str(home)])
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    return int(exited.value.code or 0), out.out, out.err


def test_cli_sql_json_table_and_errors(ws: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    home = ws.parent
    code, out, err = _sleuth(["sql", "SELECT kind, count(*) n FROM transactions GROUP BY 1 ORDER BY 1", "--json",
                              "--limit", "2"], home, capsys, monkeypatch)
    assert code == 0, err
    data = json.loads(out)
    assert data["columns"] == ["kind", "n"] and data["rows"] == [["crypto_withdrawal", 750], ["fiat_deposit", 750]]
    assert data["truncated"] is True and data["query"].startswith("SELECT kind, COUNT(*) AS n")

    code, out, err = _sleuth(["sql", "SELECT rule_id, description FROM alerts ORDER BY 1"], home, capsys, monkeypatch)
    assert code == 0 and "R-MIXER" in out and "[x]" in out and "2 rows" in out

    code, out, err = _sleuth(["sql", "SELECT * FROM read_csv('/etc/passwd')"], home, capsys, monkeypatch)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: table function read_csv")

    code, out, err = _sleuth(["sql", "SELECT nope FROM accounts"], home, capsys, monkeypatch)
    assert code == 1 and err.startswith("error: Binder Error")


def test_cli_module_imports_no_database_libraries() -> None:
    code = "import sys, agent.cli.tools; print([m for m in ('duckdb', 'sqlglot') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# --- LangChain tools ------------------------------------------------------------------------------

def test_langchain_tools_return_text_and_evidence(db: Database) -> None:
    ledger = EvidenceLedger()
    tools = {t.name: t for t in make_tools(db, ledger, load_settings(sql_row_cap=5))}
    assert {"sql", "describe_schema"} <= set(tools) and len(tools) == len(TOOLS)
    assert "Example:" in tools["sql"].description and tools["sql"].args["query"]["type"] == "string"

    msg = tools["sql"].invoke({"type": "tool_call", "id": "c1", "name": "sql",
                               "args": {"query": "SELECT txn_id FROM transactions ORDER BY 1"}})
    assert isinstance(msg, ToolMessage) and msg.content.startswith("[E1] sql(")
    assert isinstance(msg.artifact, Evidence) and len(msg.artifact.rows) == 5 and msg.artifact.truncated

    msg = tools["sql"].invoke({"type": "tool_call", "id": "c2", "name": "sql",
                               "args": {"query": "SELECT * FROM 'secrets.csv'"}})
    assert "ERROR: rejected:" in msg.content and msg.artifact.error

    msg = tools["describe_schema"].invoke({"type": "tool_call", "id": "c3", "name": "describe_schema", "args": {}})
    assert msg.content.startswith("[E3] describe_schema()\nDuckDB workspace tables")
    assert [e.id for e in ledger.all()] == ["E1", "E2", "E3"]


# --- the second opinion: DuckDB's own parser, checked on its own ----------------------------------

@pytest.mark.parametrize(("statement", "reason"), [
    ("SELECT * FROM read_csv('x.csv')", "table function read_csv"),
    ("SELECT * FROM 'x.csv'", "'x.csv' is not a workspace table"),
    ("SELECT getenv('HOME')", r"function getenv\(\)"),
    ("SELECT main.lower('A')", r"function lower\(\)"),
    ("SELECT * FROM system.main.accounts", "'accounts' is not a workspace table"),
    ("SELECT 1; SELECT 2", "only one statement"),
    ("COPY accounts TO 'x.csv'", "DuckDB cannot parse"),
    ("SELECT * FROM (PIVOT accounts ON kind)", "DuckDB cannot parse"),
])
def test_duckdb_cross_check_refuses_on_its_own(statement: str, reason: str) -> None:
    from tools.sql_guard import _duckdb_cross_check

    with pytest.raises(SqlRejected, match=reason):
        _duckdb_cross_check(statement, set(ALL_TABLES), "sleuth")


def test_duckdb_cross_check_passes_ctes_and_allowed_table_functions() -> None:
    from tools.sql_guard import _duckdb_cross_check

    _duckdb_cross_check("WITH a AS (SELECT * FROM range(3)) SELECT upper(kind), a.* FROM a, accounts, "
                        "unnest([1]) u(x) WHERE kind LIKE 'i%'", set(ALL_TABLES), "sleuth")
