"""Graph tools against a hand-built workspace with known shapes; facts asserted exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tools.db import Database
from tools.evidence import EvidenceLedger
from tools.facts import facts_of
from tools.graph import clusters, counterparties, cycles, exposure, flow_shape, trace

AS_OF = dt.datetime(2026, 10, 20, 12, 0)
OLD = dt.datetime(2025, 1, 1)
NEW = dt.datetime(2026, 9, 1)


def ts(day: int, hour: int = 0, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour)


def evm(tag: str) -> str:
    """A checksum-looking (mixed case) EVM address; flows and address_norm hold it lower-cased."""
    return "0x" + (tag * 40)[:40].upper().replace("A", "a")


X1, X2, SANC, MIX, MIX2, SCAM_SRC, DEP, SCAM = (evm(t) for t in ("A1", "B2", "5C", "D4", "E6", "F7", "98", "C9"))
CLEAN = evm("77")
ACCOUNTS = {
    "ACC-000001": (2, OLD), "ACC-000010": (2, OLD),
    **{f"ACC-00001{i}": (i % 2, NEW) for i in range(1, 5)},  # mules: new, KYC 0/1
    **{f"ACC-00002{i}": (2, OLD) for i in range(1, 5)},
    **{f"ACC-00003{i}": (2, OLD) for i in range(1, 8)},
    **{f"ACC-0000{i}": (2, OLD) for i in range(41, 51)},
    **{f"ACC-00006{i}": (2, OLD) for i in range(1, 7)},
    "ACC-000070": (2, OLD), "ACC-000071": (2, OLD), "ACC-000072": (2, OLD),
}

TXNS: list[tuple] = []  # (ts, kind, asset, usd, src, dst)


def tx(when: dt.datetime, kind: str, usd: float, src: str, dst: str, asset: str = "USDT") -> None:
    TXNS.append((when, kind, asset, usd, src, dst))


CHAIN: list[tuple] = []  # (ts, src, dst, usd)

# --- exposure: ACC-000001 sends 10,000 to X1; X1 -> SANC (hop 2), X1 -> X2 -> MIX (hop 3) ---
tx(ts(9, 9), "fiat_deposit", 15_000, "BANK-US-1", "ACC-000001", "USD")
tx(ts(9, 10), "trade", 15_000, "ACC-000001", "ACC-000001", "USDT")
tx(ts(10, 10), "crypto_withdrawal", 10_000, "ACC-000001", X1)
CHAIN += [(ts(11), X1, SANC, 4_000), (ts(11), X1, X2, 5_000), (ts(12), X2, MIX, 3_000),
          (ts(9), X2, MIX2, 2_500),  # before funds arrived at X2: not exposure
          (ts(12), CLEAN, X2, 50)]
# deposits: from DEP (fed by SCAM_SRC, a scam address, 2 days earlier) and from a clean address
tx(ts(5, 12), "crypto_deposit", 6_000, DEP, "ACC-000001")
CHAIN += [(ts(3), SCAM, DEP, 2_000)]
tx(ts(6, 12), "crypto_deposit", 4_000, CLEAN, "ACC-000001")
# outside the window: an old withdrawal straight to the mixer does not count
tx(ts(1, 0, month=8), "crypto_withdrawal", 500, "ACC-000001", MIX)

# --- mule ring: ACC-000011..14 share DEV-MULE with collector ACC-000010 ---
for i in range(1, 5):
    m = f"ACC-00001{i}"
    tx(ts(10, i), "fiat_deposit", 5_000, f"BANK-GB-{i}", m, "GBP")
    tx(ts(10, i) + dt.timedelta(hours=20), "internal_transfer", 4_500, m, "ACC-000010")
tx(ts(12), "crypto_withdrawal", 18_000, "ACC-000010", CLEAN)

# --- cycle: 21 -> 22 -> 23 -> 21; and 21 -> 24 -> 21 out of time order ---
tx(ts(1), "internal_transfer", 10_000, "ACC-000021", "ACC-000022")
tx(ts(2), "internal_transfer", 9_500, "ACC-000022", "ACC-000023")
tx(ts(3), "internal_transfer", 9_000, "ACC-000023", "ACC-000021")
tx(ts(5), "internal_transfer", 1_000, "ACC-000021", "ACC-000024")
tx(ts(4), "internal_transfer", 1_000, "ACC-000024", "ACC-000021")

# --- scatter-gather: 31 -> 32..36 (2,000 each) -> sink 37 ---
tx(ts(10, 8), "fiat_deposit", 10_000, "BANK-DE-9", "ACC-000031", "EUR")
for i in range(2, 7):
    tx(ts(10, 10), "internal_transfer", 2_000, "ACC-000031", f"ACC-00003{i}")
    tx(ts(11, i), "internal_transfer", 1_900, f"ACC-00003{i}", "ACC-000037")

# --- stack: 41 -> 42,43,44 -> 45,46,47 -> sink 50, all within 72 h ---
for a, b in (("42", "45"), ("43", "46"), ("44", "47")):
    tx(ts(15, 0), "internal_transfer", 3_000, "ACC-000041", f"ACC-0000{a}")
    tx(ts(15, 12), "internal_transfer", 2_900, f"ACC-0000{a}", f"ACC-0000{b}")
    tx(ts(16, 0), "internal_transfer", 2_800, f"ACC-0000{b}", "ACC-000050")

# --- bipartite: 61, 62, 63 each pay 64, 65, 66 ---
for s in ("61", "62", "63"):
    for r in ("64", "65", "66"):
        tx(ts(12, 1), "internal_transfer", 1_000, f"ACC-0000{s}", f"ACC-0000{r}")

# --- counterparties history: 70 paid 71 in August and again in the window; 72 is new ---
tx(ts(5, 0, month=8), "internal_transfer", 300, "ACC-000070", "ACC-000071")
tx(ts(5), "internal_transfer", 300, "ACC-000070", "ACC-000071")
tx(ts(6), "internal_transfer", 300, "ACC-000070", "ACC-000072")
tx(ts(8), "internal_transfer", 900, "ACC-000071", "ACC-000070")

LOGINS = [
    *[(ts(1, i), f"ACC-00001{i}", "DEV-MULE", f"10.1.0.{i}") for i in range(1, 5)],
    (ts(1, 5), "ACC-000010", "DEV-MULE", "10.1.0.9"),
    (ts(1, 6), "ACC-000010", "DEV-BOSS", "10.1.0.9"),
    (ts(1, 7), "ACC-000001", "DEV-OWN1", "10.9.9.9"),
    (ts(1, 8), "ACC-000021", "DEV-FAM", "10.2.0.1"),
    (ts(1, 9), "ACC-000022", "DEV-FAM2", "10.2.0.1"),
]
ADDRESSES = [(SANC, "ethereum", "sanctioned", "ofac", "OFAC SDN"), (MIX, "ethereum", "mixer", "chainalysis", "mixers"),
             (MIX2, "ethereum", "mixer", "chainalysis", "mixers"), (SCAM, "ethereum", "phishing", "forta", "phishing"),
             (CLEAN, "ethereum", "exchange", "x", "exchanges")]

FLOWS_SQL = """
CREATE TABLE flows AS
WITH acct AS (SELECT account_id FROM accounts),
norm AS (SELECT *, CASE WHEN regexp_full_match(src, '0x[0-9a-fA-F]{40}') THEN lower(src) ELSE src END AS s,
                   CASE WHEN regexp_full_match(dst, '0x[0-9a-fA-F]{40}') THEN lower(dst) ELSE dst END AS d
         FROM transactions),
cn AS (SELECT *, lower(src) AS s, lower(dst) AS d FROM chain_transfers)
SELECT * FROM (
  SELECT s AS entity, d AS counterparty, 'out' AS direction, ts, txn_id, kind, asset, amount_usd, chain, 'exchange' AS layer FROM norm
  UNION ALL SELECT d, s, 'in', ts, txn_id, kind, asset, amount_usd, chain, 'exchange' FROM norm
  UNION ALL SELECT s, d, 'out', ts, tx_hash, 'chain_transfer', asset, amount_usd, chain, 'chain' FROM cn
  UNION ALL SELECT d, s, 'in', ts, tx_hash, 'chain_transfer', asset, amount_usd, chain, 'chain' FROM cn)
ORDER BY entity, ts
"""


def build(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE accounts(account_id VARCHAR, kind VARCHAR, country VARCHAR, kyc_level INTEGER, "
                "registered_at TIMESTAMP)")
    con.executemany("INSERT INTO accounts VALUES (?, 'individual', 'GB', ?, ?)",
                    [(a, k, r) for a, (k, r) in ACCOUNTS.items()])
    con.execute("CREATE TABLE transactions(txn_id VARCHAR, ts TIMESTAMP, kind VARCHAR, asset VARCHAR, amount DOUBLE, "
                "amount_usd DOUBLE, src VARCHAR, dst VARCHAR, chain VARCHAR)")
    con.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ethereum')",
                    [(f"TX-{i:09d}", t, k, a, u, u, s, d) for i, (t, k, a, u, s, d) in enumerate(TXNS, 1)])
    con.execute("CREATE TABLE chain_transfers(tx_hash VARCHAR, ts TIMESTAMP, chain VARCHAR, src VARCHAR, dst VARCHAR, "
                "asset VARCHAR, amount_usd DOUBLE)")
    con.executemany("INSERT INTO chain_transfers VALUES (?, ?, 'ethereum', ?, ?, 'USDT', ?)",
                    [(f"0xhash{i:04d}", t, s, d, u) for i, (t, s, d, u) in enumerate(CHAIN, 1)])
    con.execute("CREATE TABLE alerts(alert_id VARCHAR, created_at TIMESTAMP, account_id VARCHAR, rule_id VARCHAR, "
                "description VARCHAR)")
    con.executemany("INSERT INTO alerts VALUES (?, ?, ?, 'TM-X', 'test')",
                    [(f"ALT-{i:05d}", AS_OF, a) for i, a in enumerate(ACCOUNTS, 1)])
    con.execute("CREATE TABLE logins(ts TIMESTAMP, account_id VARCHAR, event VARCHAR, ip VARCHAR, device_id VARCHAR, "
                "country VARCHAR)")
    con.executemany("INSERT INTO logins VALUES (?, ?, 'login', ?, ?, 'GB')", [(t, a, ip, d) for t, a, d, ip in LOGINS])
    con.execute("CREATE TABLE addresses(address VARCHAR, chain VARCHAR, category VARCHAR, source VARCHAR, "
                "list_name VARCHAR, address_norm VARCHAR)")
    con.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?, ?, lower(?))", [(*a, a[0]) for a in ADDRESSES])
    con.execute(FLOWS_SQL)
    con.close()
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory):
    path = build(tmp_path_factory.mktemp("graph") / "ws.duckdb")
    with Database(path) as d:
        yield d


def run(tool, db: Database, account: str, **kw):
    ev = tool(db, EvidenceLedger(), account, **kw)
    assert ev.error is None, ev.error
    return ev


def test_exposure_paths_hops_and_shares(db: Database) -> None:
    ev = run(exposure, db, "ACC-000001")
    assert set(ev.facts) == set(facts_of("exposure"))
    assert ev.facts == {
        "sanctioned_min_hops": 2, "sanctioned_share": 0.2,       # 4,000 of 20,000 crypto in+out
        "mixer_min_hops": 3, "mixer_share": 0.15,                # 3,000 reach MIX; MIX2 predates the funds
        "scam_min_hops": 2, "scam_share": 0.1,                   # 2,000 of the 6,000 deposit came from phishing
        "scam_linked_senders": 1, "risky_min_hops": 2,
    }
    by_addr = {r[2]: r for r in ev.rows}
    assert by_addr[SANC.lower()][7] == f"ACC-000001 -> {X1.lower()} -> {SANC.lower()}"
    assert by_addr[MIX.lower()][1] == 3 and MIX2.lower() not in by_addr
    assert by_addr[SCAM.lower()][0] == "received_from"
    assert "TX-" in by_addr[SANC.lower()][9]
    assert "4,000.00 USD" in ev.summary and SANC.lower() in ev.summary


def test_exposure_limits_hops_and_handles_mixed_case(db: Database) -> None:
    ev = run(exposure, db, "ACC-000001", max_hops=2)
    assert ev.facts["mixer_min_hops"] == 99 and ev.facts["mixer_share"] == 0.0
    assert ev.facts["sanctioned_min_hops"] == 2
    clean = run(exposure, db, "ACC-000021")
    assert clean.facts["risky_min_hops"] == 99 and clean.facts["scam_linked_senders"] == 0


def test_trace_forward_crosses_withdrawals_and_chain(db: Database) -> None:
    ev = run(trace, db, "ACC-000001", direction="out", max_hops=3)
    pairs = {(r[1], r[2]) for r in ev.rows}
    assert ("ACC-000001", X1.lower()) in pairs and (X2.lower(), MIX.lower()) in pairs
    assert (X2.lower(), MIX2.lower()) not in pairs  # earlier than the funds: time order
    assert "mixer" in ev.summary and "sanctioned" in ev.summary
    back = run(trace, db, X2, direction="in", max_hops=2, since=dt.datetime(2026, 1, 1))
    assert {(r[1], r[2]) for r in back.rows} >= {(X1.lower(), X2.lower()), ("ACC-000001", X1.lower())}


def test_trace_min_usd_and_asset_filters(db: Database) -> None:
    ev = run(trace, db, "ACC-000031", direction="out", max_hops=2, min_usd=1_950)
    assert {r[2] for r in ev.rows} == {f"ACC-00003{i}" for i in range(2, 7)}
    ev = run(trace, db, "ACC-000001", direction="both", max_hops=1, asset="USD")
    assert {(r[1], r[2]) for r in ev.rows} == {("BANK-US-1", "ACC-000001")}


def test_clusters_mule_ring_with_collector(db: Database) -> None:
    ev = run(clusters, db, "ACC-000011")
    assert set(ev.facts) == set(facts_of("clusters"))
    assert ev.facts == {
        "shared_device_accounts": 4, "shared_ip_accounts": 0, "cluster_size": 5,
        "cluster_common_collector": 1, "cluster_forward_share": 0.9, "cluster_new_low_kyc_share": 0.8,
    }
    assert "ACC-000010" in ev.summary and ev.rows[0][0] == "ACC-000011"


def test_clusters_family_without_collector(db: Database) -> None:
    ev = run(clusters, db, "ACC-000021")
    assert ev.facts["shared_ip_accounts"] == 1 and ev.facts["shared_device_accounts"] == 0
    assert ev.facts["cluster_size"] == 2 and ev.facts["cluster_common_collector"] == 0
    assert ev.facts["cluster_forward_share"] == 0.0


def test_cycles_time_ordered(db: Database) -> None:
    ev = run(cycles, db, "ACC-000021")
    assert ev.facts == {"cycle_count": 1, "cycle_return_share": 0.9}
    assert ev.rows[0][0] == "ACC-000021 -> ACC-000022 -> ACC-000023 -> ACC-000021"
    assert run(cycles, db, "ACC-000031").facts == {"cycle_count": 0, "cycle_return_share": 0.0}


def test_counterparties_fan_out(db: Database) -> None:
    ev = run(counterparties, db, "ACC-000031")
    assert set(ev.facts) == set(facts_of("counterparties"))
    assert ev.facts == {
        "in_counterparties_window": 1, "out_counterparties_window": 5, "in_account_senders_7d": 0,
        "out_account_receivers_7d": 5, "new_counterparty_share": 1.0, "amount_uniformity": 1.0,
        "recurring_counterparty_share": 0.0,
    }
    row = next(r for r in ev.rows if r[0] == "ACC-000032")
    assert row[1] is True and row[5] == 2000.0 and row[6] == 1


def test_counterparties_recurring_and_new(db: Database) -> None:
    ev = run(counterparties, db, "ACC-000070")
    assert ev.facts["new_counterparty_share"] == 0.5  # 72 new, 71 paid in August
    assert ev.facts["recurring_counterparty_share"] == 0.5
    assert ev.facts["in_account_senders_7d"] == 1 and ev.facts["out_account_receivers_7d"] == 2
    assert ev.facts["amount_uniformity"] == 1.0  # two identical 300 payments out


def test_flow_shape_scatter_gather(db: Database) -> None:
    ev = run(flow_shape, db, "ACC-000031")
    assert set(ev.facts) == set(facts_of("flow_shape"))
    assert ev.facts == {"forward_share_72h": 1.0, "intermediaries_to_common_sink": 5, "layer_depth": 1,
                        "layer_width": 5, "bipartite_pairs": 0}


def test_flow_shape_stack_and_bipartite(db: Database) -> None:
    stack = run(flow_shape, db, "ACC-000041").facts
    assert (stack["layer_depth"], stack["layer_width"], stack["intermediaries_to_common_sink"]) == (2, 3, 1)
    assert run(flow_shape, db, "ACC-000061").facts["bipartite_pairs"] == 9


def test_picture_png_and_html(db: Database, tmp_path: Path) -> None:
    from tools.graph.picture import layout, render_html, render_png
    from tools.graph.trace import trace_walk

    w = trace_walk(db, "ACC-000001", "both", 3)
    png = render_png(w, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = render_html(w, tmp_path / "f.html").read_text()
    assert "<svg" in page and SANC.lower() in page and "sanctioned" in page
    assert "src=" not in page and "https://" not in page  # self-contained: nothing fetched
    folded = layout(trace_walk(db, "ACC-000041", "out", 3), max_nodes=5)
    assert "folded" in folded.note and {"+2 more (hop 2)", "+1 more (hop 3)"} <= set(folded.nodes)
    assert {"ACC-000042", "ACC-000043", "ACC-000044"} <= set(folded.nodes)  # nearest hop kept whole
    assert all(e.src in folded.nodes and e.dst in folded.nodes for e in folded.edges)


def test_cli_trace_json_and_pictures(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from agent.cli import app

    build(tmp_path / "sleuth.duckdb")
    res = CliRunner().invoke(app, ["trace", "ACC-000031", "--hops", "2", "--direction", "out", "--json",
                                   "--png", str(tmp_path / "t.png"), "--html", str(tmp_path / "t.html"),
                                   "--home", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["tool"] == "trace" and out["row_count"] == 10 and len(out["pictures"]) == 2
    assert (tmp_path / "t.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["trace", "ACC-000031", "--direction", "sideways", "--home", str(tmp_path)])
    assert bad.exit_code != 0


# --- against the committed sample and the generator's ground truth (labels read here only) -------

SAMPLE = Path(__file__).resolve().parents[1] / "data_samples" / "sample"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory):
    if not (SAMPLE / "truth" / "exposure.jsonl").exists():
        pytest.skip("no committed sample")
    from tools.data.load import load_folder
    from tools.settings import load_settings

    settings = load_settings(home=tmp_path_factory.mktemp("sample-ws"))
    load_folder(SAMPLE, settings)
    with Database.open(settings) as d:
        yield d


def _alerts_by_account(db: Database) -> dict[str, list[dt.datetime]]:
    out: dict[str, list[dt.datetime]] = {}
    for account, at in db.execute("SELECT account_id, created_at FROM alerts ORDER BY created_at").rows:
        out.setdefault(account, []).append(at)
    return out


@pytest.mark.slow
def test_exposure_finds_every_planted_path(sample_db: Database) -> None:
    """The bar: every planted sanctions, mixer and scam path, direct and indirect, with its hop
    count, through the counterparty it was planted through (as of one of the account's alerts)."""
    import json

    from tools.graph.common import norm_entity

    truth = [json.loads(line) for line in (SAMPLE / "truth" / "exposure.jsonl").read_text().splitlines() if line]
    assert {t["category"] for t in truth} >= {"sanctioned", "mixer"}
    alerts = _alerts_by_account(sample_db)
    cache: dict[tuple[str, dt.datetime], list[list]] = {}
    missed = []
    for t in truth:
        direction = "sent_to" if t["direction"] == "out" else "received_from"
        via = norm_entity(t["path"][1] if t["direction"] == "out" else t["path"][-2])
        address = norm_entity(t["address"])
        found = set()
        for at in alerts[t["account_id"]]:
            if (t["account_id"], at) not in cache:
                cache[(t["account_id"], at)] = exposure(sample_db, EvidenceLedger(row_cap=1000), t["account_id"],
                                                        as_of=at).rows
            found |= {r[1] for r in cache[(t["account_id"], at)]
                      if r[0] == direction and r[2] == address and via in r[7].split(" -> ")}
        if t["hops"] not in found:
            missed.append((t["account_id"], t["address"], t["hops"], sorted(found)))
    assert not missed, f"{len(missed)} of {len(truth)} planted paths missed: {missed[:5]}"


@pytest.mark.slow
def test_mule_network_cluster_and_picture(sample_db: Database, tmp_path: Path) -> None:
    import json

    from tools.graph.picture import layout, render_png
    from tools.graph.trace import trace_walk

    cases = [json.loads(line) for line in (SAMPLE / "cases.jsonl").read_text().splitlines() if line]
    case = next(c for c in cases if c["typology"] == "mule_network" and c["disposition"] == "sar")
    account, at = sample_db.execute("SELECT account_id, created_at FROM alerts WHERE alert_id = $a",
                                    {"a": case["alert_id"]}).rows[0]
    ev = clusters(sample_db, EvidenceLedger(), account, as_of=at)
    assert ev.facts["cluster_common_collector"] == 1 and ev.facts["cluster_forward_share"] >= 0.8
    collector = next(r[0] for r in ev.rows if r[1].startswith("collector"))
    assert collector in case["related_accounts"]
    assert set(case["related_accounts"]) <= {r[0] for r in ev.rows} | {account}
    w = trace_walk(sample_db, collector, "in", 2, as_of=at)
    pic = layout(w)
    assert set(case["related_accounts"]) - {collector} <= set(pic.nodes)
    assert render_png(w, tmp_path / "mule.png").stat().st_size < 300_000


@pytest.mark.parametrize("entity_max", [-1, 1])
def test_flow_cache_gives_the_walks_of_direct_queries(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                      entity_max: int) -> None:
    """Walks over cached flows equal walks that query DuckDB for every hop: with nothing cacheable
    (-1), and with a mix where only entities of one flow are cached (1); repeated on a warm cache."""
    accounts = ["ACC-000001", "ACC-000010", "ACC-000011", "ACC-000031", "ACC-000041", "ACC-000061", "ACC-000070"]
    from tools import flowcache, introspect

    accounts = ["ACC-000001", "ACC-000010", "ACC-000011", "ACC-000031", "ACC-000041", "ACC-000061", "ACC-000070"]
    tools = [(exposure, {}), (trace, {"direction": "both", "max_hops": 3}), (cycles, {}), (flow_shape, {}),
             (counterparties, {}), (clusters, {}),
             (trace, {"direction": "out", "max_hops": 4, "min_usd": 100.0, "asset": "USDT"})]

    def evidence() -> list[tuple]:
        return [(ev.rows, ev.facts, ev.summary) for acct in accounts for tool, kw in tools
                if (ev := tool(db, EvidenceLedger(), acct, as_of=AS_OF, **kw))]

    flowcache.forget(db)
    introspect.forget_small_tables(db)
    cached = evidence()
    assert len(flowcache.cache_of(db)._entries) > 10
    assert evidence() == cached  # warm
    # and the logins, accounts and addresses queried instead of held in memory
    monkeypatch.setattr(flowcache, "ENTITY_MAX", entity_max)
    monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", 0)
    flowcache.forget(db)
    introspect.forget_small_tables(db)
    assert evidence() == cached
    introspect.forget_small_tables(db)


def test_flow_cache_is_bounded_least_recently_used_first(db: Database) -> None:
    from tools.flowcache import FlowCache

    cache = FlowCache(max_rows=3)
    rows = db.execute("SELECT entity, count(*) FROM flows WHERE counterparty <> entity GROUP BY entity "
                      "HAVING count(*) = 1 ORDER BY entity LIMIT 5").rows
    ones = [e for e, _ in rows]
    assert len(ones) == 5
    cache.flows(db, ones[:3])
    cache.flows(db, ones[:1])  # touched: now the most recent
    cache.flows(db, ones[3:4])
    assert list(cache._entries) == [ones[2], ones[0], ones[3]] and cache._rows == 3


@pytest.mark.parametrize("entity_max", [0, 3, 2_000])
def test_flows_fetched_together_are_each_entitys_flows_in_storage_order(
        db: Database, monkeypatch: pytest.MonkeyPatch, entity_max: int) -> None:
    """One IN-list statement (or, when a busy entity fills its limit, the capped look-ups) gives
    each entity exactly its own rows in storage order, and None for one with too many to keep."""
    from tools import flowcache

    monkeypatch.setattr(flowcache, "ENTITY_MAX", entity_max)
    monkeypatch.setattr(flowcache, "FETCH_MAX", 7)  # several statements
    entities = [r[0] for r in db.execute("SELECT DISTINCT entity FROM flows ORDER BY hash(entity) LIMIT 40").rows]
    entities.append("NOT-AN-ENTITY'; DROP TABLE flows; --")
    got = flowcache.fetch(db, entities)
    assert list(got) == entities
    for e in entities:
        rows = db.execute(f"SELECT {flowcache.COLUMNS} FROM flows WHERE entity = $e ORDER BY rowid", {"e": e}).rows
        expected = tuple(flowcache.Flow(*r[1:]) for r in rows) if len(rows) <= entity_max else None
        assert got[e] == expected, e
    assert got[entities[-1]] == ()
    assert any(v is None for v in got.values()) == (entity_max < 2_000)


def test_flows_a_batch_holds_are_taken_and_dropped_with_it(db: Database) -> None:
    from tools import flowcache

    flowcache.forget(db)
    accounts = ["ACC-000001", "ACC-000010"]
    flowcache.hold(db, accounts)
    assert set(db.held.kind(flowcache.KIND)) == set(accounts)
    got = flowcache.cache_of(db).flows(db, accounts)
    assert got == flowcache.fetch(db, accounts)
    assert not flowcache.cache_of(db)._entries  # read from what the batch held, not fetched again
    flowcache.forget(db)
    assert not db.held.kind(flowcache.KIND)


def test_labels_read_whole_equal_labels_looked_up(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools import introspect
    from tools.graph import common

    entities = [r[0] for r in db.execute("SELECT DISTINCT counterparty FROM flows ORDER BY 1").rows]
    introspect.forget_small_tables(db)
    whole = common.labels_of(db, entities)
    assert whole and common._all_labels(db) is not None
    assert common.accounts_among(db, entities) and common.account_ids(db) is not None
    held_accounts = common.accounts_among(db, entities)
    monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", 0)
    introspect.forget_small_tables(db)
    db.forget_cached(common.MEMO)
    assert common.labels_of(db, entities) == whole
    assert common.accounts_among(db, entities) == held_accounts
    assert common._all_labels(db) is None and common.account_ids(db) is None
    introspect.forget_small_tables(db)



def test_clusters_held_logins_and_cached_flows_equal_their_statements(db: Database,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The cluster's own identifiers, shared logins and members' window flows, read from the held
    logins table and the flow cache, equal OWN_SQL, SHARED_SQL and FLOWS_SQL, at the edges too."""
    import importlib

    from tools import introspect

    cl = importlib.import_module("tools.graph.clusters")  # the package exports the function by this name
    introspect.forget_small_tables(db)
    accounts = [r[0] for r in db.execute("SELECT DISTINCT account_id FROM logins ORDER BY 1").rows]
    moments = sorted({r[0] for r in db.execute("SELECT ts FROM logins").rows}) + [AS_OF]
    for at in moments:
        for acct in accounts:
            own = cl._own(db, acct, at)
            assert sorted(own, key=str) == sorted(set(db.execute(cl.OWN_SQL, {"a": acct, "e": at}).rows), key=str)
            devs, ips = sorted({d for d, _ in own if d}), sorted({i for _, i in own if i})
            if devs or ips:
                want = db.execute(cl.SHARED_SQL, {"devs": devs, "ips": ips, "e": at}).rows
                assert set(cl._shared(db, devs, ips, at)) == set(want)
    members = [r[0] for r in db.execute("SELECT DISTINCT entity FROM flows ORDER BY 1").rows]
    start, end = AS_OF - dt.timedelta(days=400), AS_OF
    flows = cl._window_flows(db, members, start, end)
    assert sum(map(len, flows.values())) > 50
    for m in members:
        assert flows[m] == db.execute(cl.FLOWS_SQL, {"a": m, "s": start, "e": end}).rows
    selfish = db.scalar("SELECT count(*) FROM flows WHERE counterparty = entity")
    assert selfish, "the workspace has trades with oneself, which FLOWS_SQL leaves out"


def test_shortest_paths_are_networkx_paths() -> None:
    """exposure's breadth-first search picks networkx's path wherever several are shortest."""
    import random

    import networkx as nx

    from tools.graph.exposure import shortest_paths

    rng = random.Random(3)
    for _ in range(200):
        nodes = [f"n{i}" for i in range(rng.randint(2, 14))]
        edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(rng.randint(1, 40))]
        graph = nx.DiGraph()
        succ: dict[str, dict[str, None]] = {}
        for u, v in edges:
            graph.add_edge(u, v)
            succ.setdefault(u, {})[v] = None
        source = rng.choice(sorted(graph.nodes))
        for cutoff in (0, 1, 2, 3, 5):
            assert shortest_paths(succ, source, cutoff) == nx.single_source_shortest_path(graph, source, cutoff=cutoff)
