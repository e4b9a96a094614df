"""The loader: layout of a good folder, every kind of bad input, and an untouched workspace on failure.

Bad-input folders are hand-written CSVs (no generator), each with one defect; the expected report
line is `file:row:column:` with CSV rows counted as editor lines (header = line 1).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from agent.cli import app
from tools.data.load import load_folder
from tools.errors import InputInvalid
from tools.schema import DISPOSITIONS, TABLES, TYPOLOGIES
from tools.settings import Settings, load_settings

ACCOUNTS = """account_id,kind,country,kyc_level,registered_at,occupation
ACC-000001,individual,DE,2,2024-01-01T00:00:00Z,teacher
ACC-000002,business,FR,3,2024-02-01,bakery
ACC-000003,individual,GB,1,2024-03-01 10:00:00,
"""
TRANSACTIONS = """txn_id,ts,kind,asset,amount,amount_usd,src,dst,chain,fee
TX-4,2026-01-04T10:00:00Z,internal_transfer,USDT,10,10,ACC-000001,ACC-000002,,0
TX-1,2026-01-01T10:00:00Z,fiat_deposit,EUR,100,108.5,BANK-DE-1,ACC-000001,,0.5
TX-2,2026-01-02T10:00:00Z,trade,BTC,0.001,60,ACC-000001,ACC-000001,,0.1
TX-3,2026-01-03T12:00:00+02:00,crypto_withdrawal,ETH,0.01,30,ACC-000001,0xAbCdEf0123456789abcdef0123456789ABCDEF01,ethereum,0
"""
ALERTS = """alert_id,created_at,account_id,rule_id,description,txn_ids
ALT-1,2026-01-05T00:00:00Z,ACC-000001,TM-RAPID-02,"fiat in, crypto out",TX-1;TX-3
ALT-2,2026-01-06T00:00:00Z,ACC-000002,TM-VEL-07,velocity,TX-4
"""
ADDRESSES = """address,chain,category,source
0xABCDEF0123456789ABCDEF0123456789ABCDEF01,ethereum,mixer,test list
"""
CHAIN = """tx_hash,ts,chain,src,dst,asset,amount_usd
0xh1,2026-01-03T12:00:00Z,ethereum,0xabcdef0123456789ABCDEF0123456789abcdef01,0x1111111111111111111111111111111111111111,ETH,29
"""
P2P = """order_id,ts,buyer,seller,asset,amount_usd,payment_method,status
P2P-1,2026-01-02T09:00:00Z,ACC-000001,ACC-000003,USDT,50,bank_transfer,completed
"""
LOGINS = """ts,account_id,event,ip,device_id,country
2026-01-01T08:00:00Z,ACC-000001,login,10.0.0.1,DEV-1,DE
"""
BASE = {"accounts.csv": ACCOUNTS, "transactions.csv": TRANSACTIONS, "alerts.csv": ALERTS,
        "addresses.csv": ADDRESSES, "chain_transfers.csv": CHAIN, "p2p_orders.csv": P2P, "logins.csv": LOGINS,
        "cases.jsonl": '{"alert_id": "ALT-1", "disposition": "sar", "typology": "pass_through"}\n'}


def write_folder(folder: Path, files: dict[str, str | bytes | None] | None = None) -> Path:
    """The base folder with some files replaced (a None value removes a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {**BASE, **(files or {})}.items():
        if content is None:
            continue
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return folder


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def fingerprint(settings: Settings) -> tuple[str, int, list[tuple]]:
    """Bytes, mtime and a query answer of the workspace database."""
    path = settings.db_path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    con = duckdb.connect(str(path), read_only=True)
    try:
        answer = con.execute("SELECT txn_id, ts, amount_usd, src, dst FROM transactions ORDER BY txn_id").fetchall()
    finally:
        con.close()
    return digest, path.stat().st_mtime_ns, answer


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "good")


@pytest.fixture()
def loaded(good: Path) -> Settings:
    settings = load_settings()
    load_folder(good, settings)
    return settings


def q(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- happy path -------------------------------------------------------------------------------

def test_good_folder_loads_every_table_typed_and_sorted(loaded: Settings) -> None:
    tables = {r[0] for r in q(loaded, "SELECT table_name FROM duckdb_tables()")}
    assert tables == {t.name for t in TABLES} | {"flows", "meta", "p2p_sides"}
    for table in TABLES:
        cols = dict(q(loaded, f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{table.name}'"))
        for col in table.columns:
            assert cols[col.name] == col.type, (table.name, col.name)
    # sorted by ts, offsets converted to UTC, extra column kept as text
    rows = q(loaded, "SELECT txn_id, strftime(ts, '%Y-%m-%d %H:%M'), fee FROM transactions")
    assert [r[0] for r in rows] == ["TX-1", "TX-2", "TX-3", "TX-4"]
    assert rows[2][1] == "2026-01-03 10:00" and rows[0][2] == "0.5"
    assert q(loaded, "SELECT DISTINCT status FROM alerts") == [("open",)]
    assert q(loaded, "SELECT count(*) FROM logins") == [(1,)]


def test_flows_have_one_row_per_side_and_one_self_row_per_trade(loaded: Settings) -> None:
    rows = q(loaded, "SELECT entity, counterparty, direction, txn_id, layer FROM flows")
    assert rows == sorted(rows, key=lambda r: r[0])  # sorted by entity
    by_txn: dict[str, list[str]] = {}
    for _entity, _cp, direction, txn, _layer in rows:
        by_txn.setdefault(txn, []).append(direction)
    assert sorted(by_txn["TX-4"]) == ["in", "out"]
    assert by_txn["TX-2"] == ["self"]
    assert ("0xabcdef0123456789abcdef0123456789abcdef01", "ACC-000001", "in", "TX-3", "exchange") in rows
    assert ("0xabcdef0123456789abcdef0123456789abcdef01", "0x1111111111111111111111111111111111111111", "out",
            "0xh1", "chain") in rows
    # the contract table keeps the original spelling; addresses get a normalised key for joins
    assert q(loaded, "SELECT dst FROM transactions WHERE txn_id = 'TX-3'") == [
        ("0xAbCdEf0123456789abcdef0123456789ABCDEF01",)]
    assert q(loaded, "SELECT address_norm FROM addresses") == [("0xabcdef0123456789abcdef0123456789abcdef01",)]
    assert q(loaded, "SELECT account_id, role, counterparty FROM p2p_sides") == [
        ("ACC-000001", "buyer", "ACC-000003"), ("ACC-000003", "seller", "ACC-000001")]


def test_meta_records_source_and_counts(loaded: Settings, good: Path) -> None:
    meta = dict(q(loaded, "SELECT key, value FROM meta"))
    assert meta["source_dir"] == str(good.resolve())
    assert meta["rows.transactions"] == "4" and meta["rows.flows"] == str(4 * 2 - 1 + 2)
    assert meta["contract_version"] and meta["loaded_at"].startswith("20")


def test_optional_tables_may_be_absent_and_exist_empty(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "min", {n: None for n in ("addresses.csv", "chain_transfers.csv",
                                                                "p2p_orders.csv", "logins.csv")})
    settings = load_settings()
    summary = load_folder(folder, settings)
    assert summary.rows["addresses"] == 0 and summary.rows["flows"] == 7
    assert summary.ignored == ["cases.jsonl"]


def test_parquet_and_csv_load_the_same(tmp_path: Path, loaded: Settings) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    con = duckdb.connect()
    for name in ("accounts", "transactions", "alerts"):
        con.execute(f"COPY (SELECT * FROM read_csv('{tmp_path / 'good' / name}.csv', header=true)) "
                    f"TO '{folder / name}.parquet' (FORMAT parquet)")
    settings = load_settings(home=tmp_path / "pqhome")
    load_folder(folder, settings)
    sql = "SELECT txn_id, ts, kind, amount_usd, src, dst FROM transactions ORDER BY txn_id"
    assert q(settings, sql) == q(loaded, sql)


def test_label_files_never_reach_the_workspace(workspace_settings: Settings, generated_dir: Path) -> None:
    assert (generated_dir / "cases.jsonl").exists()
    cols = q(workspace_settings, "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal")
    names = {c[1].lower() for c in cols} | {c[0].lower() for c in cols}
    for label in ("disposition", "typology", "key_txn_ids", "related_accounts", "expected_actions", "notes"):
        assert label not in names
    labels = [v for v in (*TYPOLOGIES, *DISPOSITIONS) if v not in ("none", "close")]
    values = ", ".join(f"'{v}'" for v in labels)
    for table, column, dtype in cols:
        if dtype == "VARCHAR":
            hit = q(workspace_settings, f'SELECT count(*) FROM "{table}" WHERE "{column}" IN ({values})')
            assert hit == [(0,)], (table, column)


def test_generated_csv_loads_too(tmp_path: Path) -> None:
    from evals.synth import generate

    out = tmp_path / "gen-csv"
    generate(out, 120, 45, 3, "csv")
    summary = load_folder(out, load_settings())
    assert summary.rows["transactions"] > 0 and summary.rows["alerts"] > 0


# --- bad input ----------------------------------------------------------------------------------

BAD: dict[str, tuple[Callable[[], dict[str, str | bytes | None]], str]] = {
    "missing column": (lambda: {"transactions.csv": edit(TRANSACTIONS, ",amount_usd,", ",usd,")},
                       "transactions.csv:1:amount_usd: missing required column"),
    "bad enum": (lambda: {"transactions.csv": edit(TRANSACTIONS, ",trade,", ",trad,")},
                 "transactions.csv:4:kind: 'trad' is not an allowed kind"),
    "bad timestamp": (lambda: {"alerts.csv": edit(ALERTS, "2026-01-06T00:00:00Z", "06/01/2026 noon")},
                      "alerts.csv:3:created_at: unparseable timestamp '06/01/2026 noon'"),
    "negative amount_usd": (lambda: {"transactions.csv": edit(TRANSACTIONS, ",108.5,", ",-108.5,")},
                            "transactions.csv:3:amount_usd: '-108.5' is negative"),
    "duplicate txn_id": (lambda: {"transactions.csv": edit(TRANSACTIONS, "TX-3,", "TX-1,")},
                         "transactions.csv:5:txn_id: duplicate txn_id 'TX-1' (first on row 3)"),
    "alert on unknown account": (lambda: {"alerts.csv": edit(ALERTS, "ACC-000002,TM", "ACC-404,TM")},
                                 "alerts.csv:3:account_id: alert on unknown account 'ACC-404'"),
    "deposit to unknown account": (lambda: {"transactions.csv": edit(TRANSACTIONS, "BANK-DE-1,ACC-000001",
                                                                     "BANK-DE-1,ACC-777")},
                                   "transactions.csv:3:dst: dst 'ACC-777' is not a known account"),
    "p2p trade to unknown account": (lambda: {"transactions.csv": edit(TRANSACTIONS, "internal_transfer,USDT,10,10,"
                                                                       "ACC-000001,ACC-000002",
                                                                       "p2p_trade,USDT,10,10,ACC-000001,ACC-5")},
                                     "transactions.csv:2:dst: dst 'ACC-5' is not a known account"),
    "p2p unknown seller": (lambda: {"p2p_orders.csv": edit(P2P, ",ACC-000003,", ",ACC-9,")},
                           "p2p_orders.csv:2:seller: seller 'ACC-9' is not a known account"),
    "login unknown account": (lambda: {"logins.csv": edit(LOGINS, "ACC-000001", "ACC-8")},
                              "logins.csv:2:account_id: login event for unknown account 'ACC-8'"),
    "alert names unknown transaction": (lambda: {"alerts.csv": edit(ALERTS, "TX-1;TX-3", "TX-1; TX-33;")},
                                        "alerts.csv:2:txn_ids: unknown transaction 'TX-33'"),
    "binary transactions.csv": (lambda: {"transactions.csv": bytes(range(256)) * 40},
                                "transactions.csv:1:-: binary content, not a CSV text file"),
    "empty file": (lambda: {"accounts.csv": ""}, "accounts.csv:1:-: file is empty"),
    "header only": (lambda: {"alerts.csv": ALERTS.splitlines()[0] + "\n"},
                    "alerts.csv:2:-: no data rows (only a header)"),
    "malformed row": (lambda: {"accounts.csv": ACCOUNTS + "ACC-000009,individual\n"},
                      "accounts.csv:5:"),
    "kyc out of range": (lambda: {"accounts.csv": edit(ACCOUNTS, "FR,3,", "FR,7,")},
                         "accounts.csv:3:kyc_level: '7' is above the maximum 3"),
    "kyc not whole": (lambda: {"accounts.csv": edit(ACCOUNTS, "FR,3,", "FR,2.5,")},
                      "accounts.csv:3:kyc_level: '2.5' is not a whole number"),
    "empty key": (lambda: {"alerts.csv": edit(ALERTS, "ALT-2,", ",")},
                  "alerts.csv:3:alert_id: empty value in a required column"),
    "not a number": (lambda: {"transactions.csv": edit(TRANSACTIONS, ",0.001,", ",lots,")},
                     "transactions.csv:4:amount: 'lots' is not a number"),
    "nan amount": (lambda: {"transactions.csv": edit(TRANSACTIONS, ",60,", ",NaN,")},
                   "transactions.csv:4:amount_usd: 'NaN' is not a finite number"),
    "missing required file": (lambda: {"accounts.csv": None}, "accounts:0:-: required file is missing"),
    "csv and parquet": (lambda: {"chain_transfers.parquet": b"PAR1"},
                        "chain_transfers.csv:0:-: chain_transfers.csv and chain_transfers.parquet both present"),
    "not parquet": (lambda: {"chain_transfers.csv": None, "chain_transfers.parquet": b"PAR0 this is text"},
                    "chain_transfers.parquet:0:-: not a Parquet file"),
    "not utf-8": (lambda: {"accounts.csv": ACCOUNTS.replace("bakery", "b\xe4ckerei").encode("latin-1")},
                  "accounts.csv:1:-: not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_reported_and_the_workspace_is_untouched(case: str, tmp_path: Path, loaded: Settings) -> None:
    files, expected = BAD[case]
    folder = write_folder(tmp_path / "bad", files())
    before = fingerprint(loaded)
    result = CliRunner().invoke(app, ["data", "load", str(folder)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "workspace is unchanged" in lines[0]
    assert any(line.startswith(expected) for line in lines[1:]), result.stderr
    assert all(re.match(r"^[\w.]+:\d+:[\w-]+: ", line) for line in lines[1:]), result.stderr
    assert "Traceback" not in result.output
    assert fingerprint(loaded) == before
    assert sorted(os.listdir(loaded.home)) == ["sleuth.duckdb"]


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "pq", {"transactions.csv": None})
    con = duckdb.connect()
    bad = edit(TRANSACTIONS, ",60,", ",-60,")
    (tmp_path / "t.csv").write_text(bad)
    con.execute(f"COPY (SELECT * FROM read_csv('{tmp_path / 't.csv'}', header=true)) "
                f"TO '{folder / 'transactions.parquet'}' (FORMAT parquet)")
    with pytest.raises(InputInvalid, match=r"transactions.parquet:3:amount_usd: '-60.0' is negative"):
        load_folder(folder, load_settings())


def test_parquet_column_of_wrong_type_is_a_schema_problem(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "pq", {"accounts.csv": None})
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'ACC-00000' || i AS account_id, 'individual' AS kind, 'DE' AS country, "
                f"1 AS kyc_level, 1700000000 + i AS registered_at FROM range(1, 4) t(i)) "
                f"TO '{folder / 'accounts.parquet'}' (FORMAT parquet)")
    with pytest.raises(InputInvalid) as err:
        load_folder(folder, load_settings())
    assert str(err.value).splitlines()[1:] == [
        "accounts.parquet:0:registered_at: column of type BIGINT cannot be read as TIMESTAMP "
        "(store ISO 8601 text or a Parquet timestamp)"]


def test_many_problems_show_the_first_twenty_and_count_the_rest(tmp_path: Path, sleuth_home: Path) -> None:
    rows = "".join(f"TX-{i},2026-01-01,trade,BTC,1,-{i},ACC-000001,ACC-000001,,\n" for i in range(100, 125))
    folder = write_folder(tmp_path / "many", {"transactions.csv": TRANSACTIONS + rows})
    with pytest.raises(InputInvalid) as err:
        load_folder(folder, load_settings())
    lines = str(err.value).splitlines()
    assert lines[0].startswith("25 problems in")
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "... and 5 more problems"
    assert lines[1] == "transactions.csv:6:amount_usd: '-100' is negative"
    assert not sleuth_home.exists()  # a failed first load leaves no workspace directory behind


def test_a_failed_load_keeps_the_first_workspace_answering(tmp_path: Path, loaded: Settings) -> None:
    before = fingerprint(loaded)
    with pytest.raises(InputInvalid):
        load_folder(write_folder(tmp_path / "bad", {"alerts.csv": edit(ALERTS, "ACC-000002,TM", "X,TM")}), loaded)
    assert fingerprint(loaded) == before
    # and a good load replaces it
    shutil.rmtree(tmp_path / "bad")
    folder = write_folder(tmp_path / "next", {"transactions.csv": edit(TRANSACTIONS, ",108.5,", ",208.5,")})
    load_folder(folder, loaded)
    assert fingerprint(loaded)[2] != before[2]
