"""The synthetic data generator: determinism, the table contract, labels, and planted signals."""

from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evals.synth import generate
from evals.synth import strings as S
from evals.synth.labels import split_cases
from evals.synth.writer import arrow_schema
from tools.schema import DISPOSITIONS, TABLES, TYPOLOGIES

ACCOUNTS, DAYS, SEED = 300, 90, 7
REAL = [t for t in TYPOLOGIES if t != "none"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("synth")
    return out, generate(out, ACCOUNTS, DAYS, SEED)


@pytest.fixture(scope="module")
def cases(synth: tuple[Path, dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (synth[0] / "cases.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def db(synth: tuple[Path, dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet('{synth[0] / (t.name + '.parquet')}')")
    return con


def test_same_seed_same_bytes(synth: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, ACCOUNTS, DAYS, SEED)
    names = [p.relative_to(synth[0]) for p in sorted(synth[0].rglob("*")) if p.is_file()]
    assert len(names) >= 10
    for name in names:
        assert filecmp.cmp(synth[0] / name, again / name, shallow=False), name
    other = tmp_path / "other"
    generate(other, ACCOUNTS, DAYS, SEED + 1)
    assert not filecmp.cmp(synth[0] / "transactions.parquet", other / "transactions.parquet", shallow=False)


def test_contract_columns_and_enums(synth: tuple[Path, dict[str, Any]]) -> None:
    out, summary = synth
    for t in TABLES:
        table = pq.read_table(out / f"{t.name}.parquet")
        assert table.schema.equals(arrow_schema(t.name)), t.name
        assert table.num_rows == summary["rows"][t.name] > 0, t.name
        for c in t.columns:
            col = table.column(c.name)
            if c.required:
                assert col.null_count == 0, (t.name, c.name)
            if c.enum:
                assert set(col.drop_null().to_pylist()) <= set(c.enum), (t.name, c.name)
            if c.min_value is not None:
                assert min(col.drop_null().to_pylist()) >= c.min_value, (t.name, c.name)
            if c.max_value is not None:
                assert max(col.drop_null().to_pylist()) <= c.max_value, (t.name, c.name)


def test_entities_follow_the_contract(db: duckdb.DuckDBPyConnection) -> None:
    bad = db.execute("""
        WITH x AS (SELECT t.*, s.account_id IS NOT NULL AS src_acc, d.account_id IS NOT NULL AS dst_acc
                   FROM transactions t LEFT JOIN accounts s ON s.account_id = t.src
                   LEFT JOIN accounts d ON d.account_id = t.dst)
        SELECT kind, count(*) FROM x WHERE NOT CASE
            WHEN kind IN ('fiat_deposit', 'crypto_deposit') THEN NOT src_acc AND dst_acc
            WHEN kind IN ('fiat_withdrawal', 'crypto_withdrawal') THEN src_acc AND NOT dst_acc
            WHEN kind IN ('internal_transfer', 'p2p_trade') THEN src_acc AND dst_acc AND src <> dst
            WHEN kind = 'trade' THEN src_acc AND src = dst END GROUP BY kind""").fetchall()
    assert bad == []
    crypto = db.execute("""SELECT count(*), count(chain), count(tx_hash) FROM transactions
                           WHERE kind IN ('crypto_deposit', 'crypto_withdrawal')""").fetchone()
    assert crypto is not None and crypto[0] == crypto[1] == crypto[2] > 0
    assert db.execute("SELECT count(*) FROM transactions WHERE kind = 'trade' AND chain IS NOT NULL").fetchone() == (0,)
    assert db.execute("SELECT count(DISTINCT txn_id) = count(*) FROM transactions").fetchone() == (True,)
    # realistic-looking addresses per chain
    addr = dict(db.execute("""SELECT chain, list(DISTINCT dst) FROM transactions WHERE kind = 'crypto_withdrawal'
                              GROUP BY chain""").fetchall())
    assert all(re.fullmatch(r"0x[0-9a-fA-F]{40}", a) for a in addr["ethereum"])
    assert all(re.fullmatch(r"(bc1q[a-z0-9]{38}|[13][1-9A-HJ-NP-Za-km-z]{25,34})", a) for a in addr["bitcoin"])
    assert all(re.fullmatch(r"T[1-9A-HJ-NP-Za-km-z]{33}", a) for a in addr["tron"])
    # logins: 1-3 usual devices per account, in its KYC country most of the time
    home = db.execute("""SELECT avg(CASE WHEN l.country = a.country THEN 1 ELSE 0 END) FROM logins l
                         JOIN accounts a USING (account_id)""").fetchone()
    assert home is not None and home[0] > 0.9


def test_no_activity_before_registration(db: duckdb.DuckDBPyConnection) -> None:
    for sql in ("""SELECT count(*) FROM transactions t JOIN accounts a ON a.account_id IN (t.src, t.dst)
                   WHERE t.ts < a.registered_at""",
                "SELECT count(*) FROM logins l JOIN accounts a USING (account_id) WHERE l.ts < a.registered_at",
                """SELECT count(*) FROM p2p_orders o JOIN accounts a ON a.account_id IN (o.buyer, o.seller)
                   WHERE o.ts < a.registered_at"""):
        assert db.execute(sql).fetchone() == (0,), sql


def test_every_typology_planted_with_benign_majority(cases: list[dict[str, Any]]) -> None:
    assert {c["typology"] for c in cases if c["disposition"] == "sar"} == set(REAL)
    assert {c["typology"] for c in cases if c["disposition"] == "escalate"} == set(REAL)
    assert sum(c["disposition"] == "close" for c in cases) >= len(cases) / 2
    for c in cases:
        assert c["disposition"] in DISPOSITIONS and c["typology"] in TYPOLOGIES
        assert (c["typology"] == "none") == (c["disposition"] == "close")
        if c["disposition"] == "close":
            assert c["expected_actions"] == ["close"]
        elif c["disposition"] == "escalate":
            assert c["expected_actions"] == ["escalate_l2", "request_information"]
        else:
            assert c["expected_actions"][:2] == ["file_sar", "escalate_l2"] and len(c["expected_actions"]) > 2


def test_ids_in_labels_and_alerts_exist(db: duckdb.DuckDBPyConnection, cases: list[dict[str, Any]]) -> None:
    txns = {r[0] for r in db.execute("SELECT txn_id FROM transactions").fetchall()}
    accounts = {r[0] for r in db.execute("SELECT account_id FROM accounts").fetchall()}
    alerts = {r[0]: r for r in db.execute("SELECT alert_id, account_id, txn_ids, status FROM alerts").fetchall()}
    assert set(alerts) == {c["alert_id"] for c in cases}
    for c in cases:
        assert c["key_txn_ids"] and set(c["key_txn_ids"]) <= txns, c["alert_id"]
        assert set(c["related_accounts"]) <= accounts
        _, account, txn_ids, status = alerts[c["alert_id"]]
        assert account in accounts and status == "open"
        assert set(txn_ids.split(";")) <= txns


def test_alerts_fall_late_with_a_baseline_before(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute("""
        SELECT a.alert_id,
               a.created_at >= (SELECT min(ts) FROM transactions) + INTERVAL 36 DAY AS late,
               (SELECT count(*) FROM transactions t WHERE (t.src = a.account_id OR t.dst = a.account_id)
                  AND t.ts < a.created_at - INTERVAL 30 DAY) AS baseline,
               (SELECT max(t.ts) FROM transactions t
                  WHERE list_contains(string_split(a.txn_ids, ';'), t.txn_id)) < a.created_at AS after
        FROM alerts a""").fetchall()
    assert all(late and baseline > 0 and after for _, late, baseline, after in rows), rows[:5]


def test_no_label_leakage(db: duckdb.DuckDBPyConnection, synth: tuple[Path, dict[str, Any]]) -> None:
    words = {w for t in REAL for w in (t, t.replace("_", " "), t.replace("_", "-"))}
    words |= {"sar", "escalate", "escalated", "escalation", "disposition", "typology", "benign",
              "close", "closed"}
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b", re.IGNORECASE)
    for (text,) in db.execute("SELECT description FROM alerts").fetchall():
        assert not pattern.search(text), text
    for t in TABLES:
        names = pq.read_schema(synth[0] / f"{t.name}.parquet").names
        assert not {"disposition", "typology", "key_txn_ids", "expected_actions"} & set(names)


def test_exposure_truth_paths_exist(db: duckdb.DuckDBPyConnection, synth: tuple[Path, dict[str, Any]]) -> None:
    edges = set(db.execute("SELECT src, dst FROM transactions UNION SELECT src, dst FROM chain_transfers")
                .fetchall())
    labels = set(db.execute("SELECT address, category FROM addresses").fetchall())
    paths = [json.loads(line) for line in (synth[0] / "truth" / "exposure.jsonl").read_text().splitlines()]
    assert paths and {p["category"] for p in paths} >= {"sanctioned", "mixer"}
    for p in paths:
        assert len(p["path"]) == p["hops"] + 1 and 1 <= p["hops"] <= 4
        assert p["account_id"] in p["path"] and p["address"] in (p["path"][0], p["path"][-1])
        assert all(e in edges for e in zip(p["path"], p["path"][1:], strict=False)), p
        assert (p["address"], p["category"]) in labels


def test_screening_list_is_real_and_attributed(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute("""SELECT category, list_name, count(*), min(snapshot_date) FROM addresses
                         GROUP BY ALL""").fetchall()
    by = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert by[("sanctioned", "OFAC SDN")][0] >= 600
    assert str(by[("sanctioned", "OFAC SDN")][1]) == "2024-09-27"
    assert any(cat == "mixer" for cat, _ in by)
    assert sum(n for (cat, _), (n, _) in by.items() if cat in ("phishing", "scam")) >= 250
    tornado = db.execute("""SELECT list(DISTINCT category) FROM addresses
                            WHERE lower(address) = '0x722122df12d4e14e13ac3b6895a86e84145b6967'""").fetchone()
    assert tornado is not None and sorted(tornado[0]) == ["mixer", "sanctioned"]


def test_planted_signals_separate_strengths(db: duckdb.DuckDBPyConnection, cases: list[dict[str, Any]]) -> None:
    label = {c["alert_id"]: (c["typology"], c["disposition"]) for c in cases}
    near = db.execute("""SELECT a.alert_id, (SELECT count(*) FROM transactions t WHERE t.dst = a.account_id
                             AND t.kind = 'fiat_deposit' AND t.amount_usd >= 9000 AND t.amount_usd < 10000
                             AND t.ts BETWEEN a.created_at - INTERVAL 14 DAY AND a.created_at) FROM alerts a""").fetchall()
    for alert_id, n in near:
        typ, disp = label[alert_id]
        if typ == "structuring":
            assert (n >= 5) if disp == "sar" else (3 <= n <= 4), (alert_id, n)
    outs = db.execute("""SELECT a.alert_id,
        (SELECT count(*) FROM transactions t WHERE t.src = a.account_id AND t.kind = 'trade'
           AND t.ts BETWEEN a.created_at - INTERVAL 30 DAY AND a.created_at),
        (SELECT sum(amount_usd) FROM transactions t WHERE t.src = a.account_id AND t.kind = 'crypto_withdrawal'
           AND t.ts BETWEEN a.created_at - INTERVAL 30 DAY AND a.created_at) /
        (SELECT sum(amount_usd) FROM transactions t WHERE t.dst = a.account_id AND t.kind = 'fiat_deposit'
           AND t.ts BETWEEN a.created_at - INTERVAL 30 DAY AND a.created_at) FROM alerts a""").fetchall()
    for alert_id, trades, ratio in outs:
        if label[alert_id] == ("pass_through", "sar"):
            assert trades == 0 and ratio >= 0.9
        elif label[alert_id] == ("pass_through", "escalate"):
            assert 0.7 <= ratio < 0.9


def test_memos_include_injections_on_both_sides(db: duckdb.DuckDBPyConnection) -> None:
    from evals.synth.constants import INJECTION_MEMOS

    n = db.execute(f"""SELECT count(*) FROM transactions
                       WHERE memo IN ({", ".join("'" + m.replace("'", "''") + "'" for m in INJECTION_MEMOS)})""")
    row = n.fetchone()
    assert row is not None and row[0] > 0


def test_scalar_and_vector_strings_agree() -> None:
    k = S.keys(3, "personal", np.arange(200), 1, 0)
    for fam in ("evm", "tron", "solana", "bitcoin", "litecoin"):
        assert S.addresses(k, fam).to_pylist() == [S.address_one(int(x), fam) for x in k]
    assert S.devices(k).to_pylist() == [S.device_one(int(x)) for x in k]
    assert S.ips(k, (10,)).to_pylist() == [S.ip_one(int(x), (10,)) for x in k]
    assert S.bank_refs(k, pa.array(["DE"] * 200)).to_pylist() == [S.bank_one(int(x), "DE") for x in k]


def test_split_is_stratified_and_disjoint(cases: list[dict[str, Any]]) -> None:
    dev, test = split_cases(cases)
    assert {c["alert_id"] for c in dev}.isdisjoint({c["alert_id"] for c in test})
    assert len(dev) + len(test) == len(cases)
    assert 0.2 <= len(test) / len(cases) <= 0.5
    strata: dict[tuple[str, str], list[int]] = {}
    for c in cases:
        strata.setdefault((c["typology"], c["disposition"]), [0, 0])
    for side, part in enumerate((dev, test)):
        for c in part:
            strata[(c["typology"], c["disposition"])][side] += 1
    assert all(d > 0 and t > 0 for d, t in strata.values() if d + t >= 2)
    assert split_cases(cases) == (dev, test)


def test_csv_and_bad_arguments(tmp_path: Path) -> None:
    summary = generate(tmp_path / "csv", 120, 45, 3, "csv")
    assert (tmp_path / "csv" / "transactions.csv").read_text().startswith("\"txn_id\",\"ts\"")
    assert summary["rows"]["alerts"] == 40
    for kwargs in ({"fmt": "xlsx"}, {"accounts": 5}, {"days": 3}, {"alerts": 10_000}):
        args: dict[str, Any] = {"out_dir": tmp_path / "bad", "accounts": 120, "days": 45, "seed": 1, **kwargs}
        with pytest.raises(ValueError):
            generate(**args)
