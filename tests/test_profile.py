"""profile and alert_context on a hand-built workspace whose facts were worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import profile_workspace as pw
import pytest

from tools.alerts import alert_context, split_txn_ids
from tools.db import Database
from tools.errors import InputInvalid, NotFound
from tools.evidence import EvidenceLedger
from tools.facts import facts_of
from tools.profile import escalating_run, fast_out_share, profile


@pytest.fixture(scope="module", params=[False, True], ids=["p2p_orders", "p2p_sides"])
def db(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Database:
    path = pw.build(Path(tmp_path_factory.mktemp("ws")) / "sleuth.duckdb", p2p_sides=request.param)
    with Database(path) as database:
        yield database


# Worked by hand from tests/profile_workspace.py (window 2026-09-01 12:00 .. 2026-10-01 12:00).
EXPECTED = {
    "account_age_days": 214,                     # 2026-03-01 -> 2026-10-01 12:00
    "kyc_level": 2,
    "is_business": 0,
    "age_years": 66,                             # 2026 - 1960
    "declared_income_usd": 40000.0,
    "window_in_usd": 46800.0,                    # 9100+9400+9800+5000+12000 fiat, 800 transfer, 700 p2p
    "window_out_usd": 32000.0,                   # 9000+20000+3000 crypto withdrawals (trades excluded)
    "window_out_in_ratio": 0.6838,               # 32000 / 46800
    "baseline_monthly_in_usd": 684.04,           # 3500 in over 153.5 days from data start 04-01 -> *30
    "inflow_vs_baseline": 68.4171,               # 46800 / 684.04
    "inflow_vs_income": 14.04,                   # 46800 * 12 / 40000
    "window_txn_count": 12,                      # 5 fiat, 2 trades, 3 withdrawals, 1 transfer, 1 p2p
    "window_trade_count": 2,
    "baseline_trade_count": 1,
    "window_fiat_deposits": 5,
    "near_threshold_deposits": 3,                # 9100, 9400, 9800
    "over_threshold_deposits": 1,                # 12000
    "escalating_deposit_run": 3,                 # 9100 < 9400 < 9800, then 5000 breaks it
    "fiat_to_crypto_out_72h_share": 0.574,       # (9000 of TX-W01 + 5000 + 12000 of TX-X02) / 45300
    "withdrawal_new_address_share": 0.7188,      # (20000 + 3000) / 32000; the BTC address was used in June
    "withdrawal_top_address_share": 0.625,       # 20000 / 32000
    "withdrawal_exchange_share": 0.0938,         # 3000 / 32000 to the exchange-labelled Tron address
    "largest_withdrawal_balance_share": 0.5155,  # 20000 / 38800 held just before TX-X02
    "new_devices_window": 2,                     # DEV-new00003 (NG), DEV-cccc0004 (DE)
    "new_countries_window": 1,                   # NG; FR seen in July, DE is the KYC country
    "security_events_window": 2,                 # 2fa_reset + email_change (api_key_created does not count)
    "new_device_before_withdrawal": 1,           # DEV-new00003 12 h before TX-X02
    "prior_alerts": 1,                           # ALT-00001; ALT-00003 is later, ALT-00004 another account
    "p2p_orders_window": 3,                      # P2P-2, -3, -4 (P2P-5 after as-of)
    "p2p_disputes_window": 1,
    "p2p_third_party_window": 1,
    "p2p_completed_total": 2,                    # P2P-1, P2P-2
}


@pytest.mark.parametrize("path", ["flow_cache", "sql"])
def test_every_profile_fact_computed_exactly(db: Database, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Both ways of reading the account's flows: the in-memory cache and DuckDB (a busy account)."""
    from tools import flowcache, introspect

    if path == "sql":  # and the alerts, accounts and addresses tables queried, not held in memory
        monkeypatch.setattr(flowcache, "ENTITY_MAX", -1)
        monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", 0)
    flowcache.forget(db)
    introspect.forget_small_tables(db)
    ev = profile(db, EvidenceLedger(), pw.SUBJECT, pw.AS_OF, alert_id=pw.ALERT)
    assert set(ev.facts) == set(facts_of("profile"))
    assert ev.facts == EXPECTED
    assert all(isinstance(ev.facts[k], int) for k in EXPECTED if isinstance(EXPECTED[k], int))


def test_rows_and_summary_are_readable_and_exact(db: Database) -> None:
    ev = profile(db, EvidenceLedger(), pw.SUBJECT, pw.AS_OF)
    assert ev.id == "E1" and ev.tool == "profile"
    assert ev.columns == ["metric", "baseline_per_30d", "window"]
    table = {r[0]: r[1:] for r in ev.rows}
    assert table["usd_in"] == [684.04, 46800.0]
    assert table["near_threshold_deposits"] == [0.0, 3]
    assert table["login_countries"] == ["DE, FR", "DE, FR, NG"]
    for text in ("46,800.00 USD", "TX-X02 20,000.00 USD", "38,800.00 USD", "2fa_reset x1", "NG", "ALT-00001"):
        assert text in ev.summary
    assert "select" in (ev.query or "").lower()


def test_alert_context_drives_the_window(db: Database) -> None:
    ctx = alert_context(db, pw.ALERT)
    assert (ctx.account_id, ctx.created_at, ctx.rule_id) == (pw.SUBJECT, pw.AS_OF, "TM-ATO-04")
    assert ctx.txn_ids == ["TX-X02", "TX-W06"]
    assert ctx.window_start == pw.AS_OF - dt.timedelta(days=30)
    ev = profile(db, EvidenceLedger(), ctx.account_id, ctx.created_at, alert_id=ctx.alert_id)
    assert ev.facts["prior_alerts"] == 1


def test_later_as_of_sees_later_activity(db: Database) -> None:
    ev = profile(db, EvidenceLedger(), pw.SUBJECT, dt.datetime(2026, 10, 12), window_days=14)
    assert ev.facts["window_out_usd"] == 900.0  # TX-A01 on 10-02
    assert ev.facts["prior_alerts"] == 3  # ALT-00001, -00002, -00003
    assert ev.facts["new_devices_window"] == 1  # DEV-zzzz0005
    assert ev.facts["new_countries_window"] == 1  # US


def test_tz_aware_as_of_is_utc(db: Database) -> None:
    aware = dt.datetime(2026, 10, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert profile(db, EvidenceLedger(), pw.SUBJECT, aware).facts == EXPECTED  # alert itself is not "before"


def test_quiet_business_account_has_neutral_facts(db: Database) -> None:
    facts = profile(db, EvidenceLedger(), "ACC-000003", pw.AS_OF).facts
    assert facts["is_business"] == 1 and facts["age_years"] == -1
    assert facts["window_in_usd"] == 0.0 and facts["window_out_in_ratio"] == 0.0
    assert facts["inflow_vs_baseline"] == 0.0 and facts["largest_withdrawal_balance_share"] == 0.0
    assert facts["p2p_completed_total"] == 2


def test_unknown_income_and_birth_year_are_minus_one(db: Database) -> None:
    facts = profile(db, EvidenceLedger(), "ACC-000002", pw.AS_OF).facts
    assert facts["declared_income_usd"] == -1 and facts["inflow_vs_income"] == -1 and facts["age_years"] == -1


def test_unknown_account_and_alert_raise_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="no account ACC-999999"):
        profile(db, EvidenceLedger(), "ACC-999999", pw.AS_OF)
    with pytest.raises(NotFound, match="no alert ALT-99999"):
        alert_context(db, "ALT-99999")
    with pytest.raises(NotFound):  # an address is never an account, whatever it looks like
        profile(db, EvidenceLedger(), pw.OLD_BTC, pw.AS_OF)


def test_escalating_run() -> None:
    assert escalating_run([]) == 0
    assert escalating_run([5.0]) == 1
    assert escalating_run([1, 2, 2, 3, 4, 5, 1]) == 4
    assert escalating_run([3, 2, 1]) == 1


def test_fast_out_share_matches_oldest_first_within_horizon() -> None:
    t0 = dt.datetime(2026, 1, 1)
    h = dt.timedelta(hours=1)
    deposits = [(t0, 100.0), (t0 + 10 * h, 100.0)]
    assert fast_out_share(deposits, [(t0 + 80 * h, 150.0)]) == 0.5  # the first deposit is past 72 h
    assert fast_out_share(deposits, [(t0 + 2 * h, 150.0)]) == 0.5  # the second had not arrived
    assert fast_out_share(deposits, [(t0 + 11 * h, 500.0)]) == 1.0
    assert fast_out_share([], [(t0, 1.0)]) == 0.0


def test_split_txn_ids() -> None:
    assert split_txn_ids(" TX-1;TX-2 ;;") == ["TX-1", "TX-2"]
    assert split_txn_ids(None) == []


def test_cli_profile_and_screen(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from agent.cli import app

    pw.build(tmp_path / "sleuth.duckdb")
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    res = runner.invoke(app, ["profile", pw.SUBJECT, "--alert", pw.ALERT, "--json", *home])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["facts"] == EXPECTED
    res = runner.invoke(app, ["profile", pw.SUBJECT, "--as-of", "2026-10-01T12:00", *home])
    assert res.exit_code == 0 and "near_threshold_deposits" in res.stdout
    res = runner.invoke(app, ["screen", pw.OFAC_ETH.lower(), "--json", *home])
    assert json.loads(res.stdout)["facts"] == {"screening_hits": 1, "sanctioned_hits": 1}
    for args, error in (
        (["profile", "ACC-999999", *home], NotFound),
        (["profile", pw.SUBJECT, "--alert", "ALT-99999", *home], NotFound),
        (["profile", pw.SUBJECT, "--as-of", "yesterday", *home], InputInvalid),
        (["profile", pw.SUBJECT, "--as-of", "2026-10-01", "--alert", pw.ALERT, *home], InputInvalid),
    ):
        assert isinstance(runner.invoke(app, args).exception, error)


def test_default_as_of_is_the_end_of_the_data(db: Database) -> None:
    ev = profile(db, EvidenceLedger(), pw.SUBJECT)
    assert ev.args["as_of"] == "2026-10-02 10:00:00"  # TX-A01, the workspace's latest movement
    assert ev.facts["window_out_usd"] == 32900.0


def test_profile_from_cached_flows_equals_profile_from_sql(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools import flowcache, introspect

    accounts = [r[0] for r in db.execute("SELECT account_id FROM accounts ORDER BY 1").rows]
    moments = [pw.AS_OF - dt.timedelta(days=d) for d in (0, 20, 75)]

    def profiles() -> list[tuple]:
        flowcache.forget(db)
        return [(ev.rows, ev.facts, ev.summary) for a in accounts for at in moments
                if (ev := profile(db, EvidenceLedger(), a, at))]

    cached = profiles()
    monkeypatch.setattr(flowcache, "ENTITY_MAX", -1)
    monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", 0)
    introspect.forget_small_tables(db)
    assert profiles() == cached


def test_alerts_and_accounts_held_in_memory_equal_their_look_ups(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small alerts or accounts table is read whole once; a large one is queried per look-up."""
    from tools import alerts, introspect

    alert_ids = [r[0] for r in db.execute("SELECT alert_id FROM alerts ORDER BY 1").rows]
    accounts = [r[0] for r in db.execute("SELECT account_id FROM accounts ORDER BY 1").rows]
    probes = [*accounts, "ACC-NOPE", "", pw.SUBJECT.lower()]

    def answers() -> tuple:
        contexts = [alert_context(db, a) for a in alert_ids]
        earlier = [alerts.earlier_alerts(db, a, pw.AS_OF, pw.ALERT) for a in accounts]
        return contexts, earlier, [alerts.account_exists(db, a) for a in probes]

    introspect.forget_small_tables(db)
    held = answers()
    assert alerts.account_ids(db) is not None and any(held[1])
    # The earlier alerts held in memory are the profile's PRIOR_ALERTS_SQL: bounds, exclusion, order.
    from tools.profile import PRIOR_ALERTS_SQL

    created = [r[0] for r in db.execute("SELECT created_at FROM alerts").rows]
    moments = [*created, *(c + dt.timedelta(days=1) for c in created), dt.datetime(2999, 1, 1)]
    compared = 0
    for account in accounts:
        for at in moments:
            for exclude in ("", pw.ALERT):
                listed = db.scalar(PRIOR_ALERTS_SQL, {"acc": account, "as_of": at, "exclude": exclude}) or []
                want = [tuple(x.values()) for x in listed]
                assert alerts.earlier_alerts(db, account, at, exclude) == want
                compared += len(want) >= 2
    assert compared  # some answers list several alerts, so their order is checked
    monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", 0)
    introspect.forget_small_tables(db)
    queried = answers()
    assert alerts.account_ids(db) is None and queried[1] == [None] * len(accounts)
    assert queried[0] == held[0] and queried[2] == held[2]
    with pytest.raises(NotFound, match="no alert ALT-99999"):
        alert_context(db, "ALT-99999")
    introspect.forget_small_tables(db)


def test_held_login_groups_and_p2p_counts_equal_the_statement() -> None:
    """`tools.account_tables` computes the profile's login groups and P2P counts in Python for small
    tables: the same answers as the SQL, NULLs, ties and the window's edges included."""
    import random

    import duckdb

    from tools.account_tables import login_groups, p2p_counts
    from tools.profile import LOGINS_LIST, LOGINS_SQL, P2P_COUNTS, P2P_SIDES_WHERE

    rng = random.Random(7)
    as_of, ws = dt.datetime(2026, 9, 30, 12), dt.datetime(2026, 8, 31, 12)
    edges = [ws, as_of, ws - dt.timedelta(seconds=1), as_of + dt.timedelta(seconds=1), ws + dt.timedelta(seconds=1)]

    def when() -> dt.datetime:
        return rng.choice(edges) if rng.random() < 0.3 else ws + dt.timedelta(hours=rng.randint(-900, 900))

    logins = [(rng.choice(["D1", "D2", "d1", None]), rng.choice(["DE", "BR", None]),
               rng.choice(["login", "2fa_reset", None]), when(), "10.0.0.1") for _ in range(300)]
    sides = [(when(), rng.choice(["completed", "disputed", "chargeback", "cancelled", None]),
              rng.choice([True, False, None])) for _ in range(300)]
    con = duckdb.connect()
    con.execute("CREATE TABLE logins (account_id VARCHAR, device_id VARCHAR, country VARCHAR, event VARCHAR, "
                "ts TIMESTAMP, ip VARCHAR)")
    con.executemany("INSERT INTO logins VALUES ('A', ?, ?, ?, ?, ?)", logins)
    con.execute("CREATE TABLE p2p_sides (account_id VARCHAR, ts TIMESTAMP, status VARCHAR, third_party_payer BOOLEAN)")
    con.executemany("INSERT INTO p2p_sides VALUES ('A', ?, ?, ?)", sides)
    for end, start in [(as_of, ws), (ws, ws - dt.timedelta(days=30)), (as_of + dt.timedelta(days=9), as_of)]:
        params = {"acc": "A", "as_of": end, "ws": start}
        listed = con.execute(LOGINS_LIST.format(query=LOGINS_SQL.strip()), params).fetchone()[0]
        assert login_groups(logins, end, start) == [tuple(x.values()) for x in listed]
        sql = P2P_COUNTS.format(third_party="coalesce(third_party_payer, FALSE)").strip() + " " + P2P_SIDES_WHERE
        held = [(ts, status, bool(third)) for ts, status, third in sides]
        assert p2p_counts(held, end, start) == tuple(con.execute(sql, params).fetchone()[0])
