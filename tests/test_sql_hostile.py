"""Hostile SQL: every statement here must be refused by the guard, through validate_sql and through
run_sql (as a `rejected:` evidence error, never an exception), and afterwards the workspace file
must have the same bytes and its directory (holding canary files to read or overwrite, and being the
working directory for relative paths) the same files with the same contents.

`{dir}` is the workspace directory; canary.csv/json/parquet/db live there.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sql_workspace as sw

from tools.db import Database
from tools.evidence import EvidenceLedger
from tools.sql import allowlist, run_sql
from tools.sql_guard import SqlRejected, validate_sql

C = "{dir}/canary.csv"

READERS = [
    f"SELECT * FROM read_csv('{C}')",
    f"SELECT * FROM read_csv_auto('{C}')",
    f"SELECT * FROM READ_CSV_AUTO('{C}', header = true)",
    f"SELECT * FROM read_csv(['{C}', '{C}'])",
    "SELECT * FROM read_csv('{dir}/*.csv')",
    f"SELECT * FROM read_single_csv_file('{C}')",
    f"SELECT * FROM sniff_csv('{C}')",
    "SELECT * FROM read_parquet('{dir}/canary.parquet')",
    "SELECT * FROM parquet_scan('{dir}/canary.parquet')",
    "SELECT * FROM parquet_metadata('{dir}/canary.parquet')",
    "SELECT * FROM parquet_schema('{dir}/canary.parquet')",
    "SELECT * FROM parquet_file_metadata('{dir}/canary.parquet')",
    "SELECT * FROM read_json('{dir}/canary.json')",
    "SELECT * FROM read_json_auto('{dir}/canary.json')",
    "SELECT * FROM read_json_objects('{dir}/canary.json')",
    "SELECT * FROM read_ndjson('{dir}/canary.json')",
    "SELECT * FROM read_ndjson_auto('{dir}/canary.json')",
    "SELECT * FROM read_ndjson_objects('{dir}/canary.json')",
    "SELECT * FROM json_scan('{dir}/canary.json')",
    "SELECT * FROM glob('{dir}/*')",
    f"SELECT * FROM read_text('{C}')",
    f"SELECT * FROM read_blob('{C}')",
    "SELECT * FROM read_duckdb('{dir}/sleuth.duckdb', table_name = 'accounts')",
    "SELECT * FROM sqlite_scan('{dir}/canary.db', 'accounts')",
    "SELECT * FROM sqlite_attach('{dir}/canary.db')",
    "SELECT * FROM postgres_scan('host=127.0.0.1 dbname=x', 'public', 'accounts')",
    "SELECT * FROM mysql_scan('host=127.0.0.1', 'db', 'accounts')",
    "SELECT * FROM iceberg_scan('{dir}')",
    "SELECT * FROM delta_scan('{dir}')",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
    "SELECT * FROM read_parquet('s3://bucket/key.parquet')",
    "SELECT * FROM query_table('accounts')",
    f"SELECT * FROM query('SELECT * FROM read_csv(''{C}'')')",
    "SELECT * FROM json_execute_serialized_sql('{{}}')",
    "SELECT getenv('HOME')",
    "SELECT current_setting('enable_external_access')",
    "SELECT 'secret_directory'.current_setting()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM which_secret('s3://bucket/x', 's3')",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM pragma_version()",
    "SELECT * FROM test_all_types()",
    "SELECT * FROM repeat_row(1, num_rows = 1000000000)",
    "SELECT nextval('seq')",
    "SELECT write_log('x')",
    "SELECT sleep_ms(60000)",
    "SELECT pg_sleep(60)",
]

REPLACEMENT_SCANS = [
    f"SELECT * FROM '{C}'",
    "SELECT * FROM 'canary.csv'",
    "FROM 'canary.csv'",
    'SELECT * FROM "canary.csv"',
    "SELECT * FROM 'CANARY.CSV'",
    "SELECT * FROM '{dir}/canary.parquet'",
    "SELECT * FROM 'canary.json' j",
    "SELECT * FROM 'https://example.com/data.csv'",
    "SELECT * FROM accounts JOIN 'canary.csv' c ON true",
    "SELECT * FROM accounts WHERE account_id IN (SELECT a FROM 'canary.csv')",
    "SELECT * FROM (FROM 'canary.csv')",
    "SELECT * FROM canary",
    "SELECT * FROM range(3) r, 'canary.csv'",
]

WRITES_AND_COMMANDS = [
    "COPY accounts TO '{dir}/out.csv'",
    "COPY (SELECT * FROM accounts) TO 'out.parquet' (FORMAT parquet)",
    f"COPY accounts FROM '{C}'",
    f"COPY accounts TO '{C}'",
    "EXPORT DATABASE '{dir}/dump'",
    "IMPORT DATABASE '{dir}/dump'",
    "ATTACH '{dir}/new.duckdb' AS x",
    "ATTACH ':memory:' AS m",
    "DETACH sleuth",
    "USE system",
    "CREATE TABLE x AS SELECT 1",
    f"CREATE VIEW v AS SELECT * FROM read_csv('{C}')",
    "CREATE MACRO m() AS 1",
    "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')",
    "DROP TABLE accounts",
    "ALTER TABLE accounts ADD COLUMN x INTEGER",
    "INSERT INTO accounts SELECT * FROM accounts",
    "UPDATE accounts SET kind = 'x'",
    "DELETE FROM accounts",
    "MERGE INTO accounts USING accounts a2 ON true WHEN MATCHED THEN DELETE",
    "TRUNCATE accounts",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs FROM 'http://127.0.0.1/'",
    "CALL pragma_version()",
    "CALL enable_logging()",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "PRAGMA version",
    "PRAGMA enable_profiling",
    "SET enable_external_access = true",
    "SET threads TO 1",
    "RESET lock_configuration",
    "SET GLOBAL access_mode = 'read_write'",
    "SET VARIABLE x = 1",
    "BEGIN TRANSACTION",
    "SELECT 1 INTO newtable",
    "DESCRIBE accounts",
    "SUMMARIZE accounts",
    "SHOW TABLES",
    f"EXPLAIN ANALYZE SELECT * FROM read_csv('{C}')",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    "VALUES (1)",
    "WITH x AS (DELETE FROM accounts RETURNING *) SELECT * FROM x",
    "SELECT * FROM accounts FOR UPDATE",
    "SELECT * FROM (DESCRIBE accounts)",
    "SELECT * FROM (SUMMARIZE accounts)",
]

MULTI_STATEMENTS = [
    "SELECT 1; DROP TABLE accounts",
    "SELECT 1; COPY accounts TO 'out.csv'",
    "SELECT * FROM accounts; ATTACH '{dir}/x.db'",
    "SELECT 1;SELECT 2",
    "SELECT 1;\n;\nSET threads = 1",
    "SELECT $$x$$; DROP TABLE accounts",
    "SELECT ';'; DROP TABLE accounts",
]

COMMENT_AND_CASE_TRICKS = [
    f"sElEcT * fRoM ReAd_CsV('{C}')",
    f"SELECT * FROM READ_csv/**/('{C}')",
    f"SELECT * FROM /* accounts */ read_csv('{C}')",
    "/* SELECT */ COPY accounts TO 'out.csv'",
    "-- SELECT 1\nDROP TABLE accounts",
    "SELECT 1 /* ; */ ; DROP TABLE accounts",
    "SELECT 1 --\n; DROP TABLE accounts",
    f'SELECT * FROM "READ_CSV"(\'{C}\')',
    f'SELECT * FROM "main"."read_csv"(\'{C}\')',
    f"SELECT * FROM system.main.read_csv('{C}')",
    "SELECT main.getenv('HOME')",
    "SELECT * FROM system.main.accounts",
    "SELECT * FROM temp.main.accounts",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM other_db.main.accounts",
]

HIDDEN_READERS = [
    f"SELECT * FROM accounts WHERE EXISTS (SELECT * FROM (SELECT * FROM read_text('{C}')))",
    f"SELECT (SELECT content FROM read_text('{C}')) AS x",
    f"WITH c AS (SELECT * FROM read_csv('{C}')) SELECT * FROM c",
    "WITH a AS (SELECT 1), b AS (SELECT * FROM 'canary.csv') SELECT * FROM a",
    f"WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n FROM read_csv('{C}')) SELECT * FROM r",
    f"SELECT account_id FROM accounts UNION ALL SELECT column0 FROM read_csv('{C}')",
    'WITH "canary.csv" AS (SELECT 1) SELECT * FROM "canary.csv"',
    'SELECT * FROM (WITH canary AS (SELECT 1) SELECT 1) s, canary',
    'WITH a AS (SELECT * FROM canary), canary AS (SELECT 1) SELECT * FROM a',
    f"SELECT * FROM accounts, LATERAL read_csv('{C}')",
    f"SELECT * FROM accounts a, LATERAL (SELECT * FROM read_text('{C}'))",
    f"SELECT list_transform([1], lambda x: (SELECT count(*) FROM read_text('{C}')))",
    "SELECT * FROM accounts WHERE kind = (SELECT getenv('HOME'))",
    "SELECT * FROM accounts ORDER BY (SELECT count(*) FROM glob('*'))",
    "SELECT * FROM accounts GROUP BY ALL HAVING (SELECT 1 FROM 'canary.csv') = 1",
    f"SELECT * FROM accounts WHERE account_id = (SELECT max(a) FROM (SELECT * FROM (SELECT * FROM read_csv('{C}'))))",
    f"SELECT CASE WHEN true THEN (SELECT 1 FROM read_blob('{C}')) END",
    "SELECT count(*) OVER (PARTITION BY (SELECT current_setting('threads'))) FROM accounts",
]

SIZE_AND_NESTING = [
    "SELECT " + "1," * 10_000 + "1",
    "SELECT " + "(" * 500 + "1" + ")" * 500,
    "SELECT " + "NOT " * 3000 + "true",
    "SELECT " + "1+" * 5000 + "1",
    "SELECT * FROM (" * 100 + "SELECT 1" + ") t" * 100,
    "SELECT " + "CASE WHEN true THEN " * 300 + "1" + " END" * 300,
    "SELECT " + "- " * 4000 + "1",
    "SELECT 1 " + " " * 20_000,
]

UNICODE_TRICKS = [
    "SELECT\u200b* FROM accounts",
    f"SELECT * FROM read\u200b_csv('{C}')",
    f"SELECT * FROM ｒｅａｄ_ｃｓｖ('{C}')",
    "SELECT * FROM accounts -- \u202e;stnuocca ELBAT PORD",
    "SELECT\u00a0*\u00a0FROM\u00a0'canary.csv'",
    "SELECT * FROM \u0430ccounts",  # Cyrillic a
    "SELECT 1\x00; DROP TABLE accounts",
    "\ufeffCOPY accounts TO 'out.csv'",
    "SELECT 1\u2028; DROP TABLE accounts",
    "SELECT\u3000* FROM accounts",
    "SELECT ｇｅｔｅｎｖ('HOME')",
]

HOSTILE = (READERS + REPLACEMENT_SCANS + WRITES_AND_COMMANDS + MULTI_STATEMENTS + COMMENT_AND_CASE_TRICKS
           + HIDDEN_READERS + SIZE_AND_NESTING + UNICODE_TRICKS)


def _id(query: str) -> str:
    short = query.encode("unicode_escape").decode()[:60]
    return short if len(query) < 200 else f"{short}...({len(query)} chars)"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hostile")
    path = sw.build(directory / "sleuth.duckdb")
    (directory / "canary.csv").write_text("a,b\nsecret,1\n")
    (directory / "canary.json").write_text('{"a": "secret"}\n')
    (directory / "canary.db").write_bytes(b"not really sqlite")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'secret' AS a) TO '{directory / 'canary.parquet'}' (FORMAT parquet)")
    con.close()
    return path


@pytest.fixture(scope="module")
def db(ws: Path) -> Database:
    with Database(ws, timeout_s=2.0) as d:
        yield d


@pytest.fixture(scope="module")
def snapshot(ws: Path) -> tuple[str, dict[str, str]]:
    return sw.digest(ws), sw.listing(ws.parent)


@pytest.fixture(autouse=True)
def _untouched(ws: Path, snapshot: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths resolve into the watched directory; after each test nothing in it changed."""
    monkeypatch.chdir(ws.parent)
    yield
    assert sw.digest(ws) == snapshot[0], "workspace database bytes changed"
    assert sw.listing(ws.parent) == snapshot[1], "files were created or changed next to the workspace"


def test_the_suite_is_big_enough() -> None:
    assert len(HOSTILE) >= 60
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("query", HOSTILE, ids=_id)
def test_guard_rejects(db: Database, ws: Path, query: str) -> None:
    statement = query.replace("{dir}", str(ws.parent)).replace("{{}}", "{}")
    tables, catalog = allowlist(db)
    with pytest.raises(SqlRejected) as rejected:
        validate_sql(statement, tables=tables, catalog=catalog)
    reason = str(rejected.value)
    assert reason and "\n" not in reason and len(reason) < 400

    ledger = EvidenceLedger()
    ev = run_sql(db, ledger, statement)
    assert ev.error is not None and ev.error.startswith("rejected: "), ev.error
    assert ev.rows == [] and ev.id == "E1"


def test_connection_still_answers(db: Database) -> None:
    ev = run_sql(db, EvidenceLedger(), "SELECT count(*) FROM accounts")
    assert ev.rows == [[3]]


# Quoting tricks where a naive splitter would see a second statement. The guard may accept them,
# because what runs is the statement regenerated from the parse tree: one SELECT of a string.
QUOTING_TRICKS = [
    ("SELECT E'a\\'; COPY accounts TO ''out.csv'' --'", "a'; COPY accounts TO 'out.csv' --"),
    ("SELECT $tag$ a'; DROP TABLE accounts; $tag$", " a'; DROP TABLE accounts; "),
    ("SELECT $$; DROP TABLE accounts; $$", "; DROP TABLE accounts; "),
    ("SELECT 1 /* nested /* comment */ ; DROP TABLE accounts; */", 1),
    ("SELECT '--' || '/*' || ';' AS x -- ; ATTACH 'x.db'", "--/*;"),
]


@pytest.mark.parametrize(("query", "value"), QUOTING_TRICKS)
def test_quoting_tricks_run_as_one_harmless_select(db: Database, query: str, value: object) -> None:
    ev = run_sql(db, EvidenceLedger(), query)
    assert ev.error is None, ev.error
    assert ev.rows == [[value]]
