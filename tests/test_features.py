"""The feature store (tools/features): every group on hand-made data, and the API's contract."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest

from tests.features_world import World, at, features_of
from tools.features import FEATURE_NAMES, FEATURES, compute_alert_features, compute_features, statement
from tools.features.query import Query
from tools.settings import JURISDICTIONS

US = JURISDICTIONS["us"]


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-9, abs=1e-9)


# --- account ---------------------------------------------------------------------------------

def test_account_group() -> None:
    w = World()
    w.account("A", kyc=1, registered=at(-45), birth_year=1950, income=12_000.0)
    w.account("B", kind="business", birth_year=None, income=None)
    w.account("BANK", kind="business")
    w.txn(at(-100), "fiat_deposit", "bank-1", "B", 10.0)
    w.txn(at(-5), "fiat_deposit", "bank-1", "A", 3000.0)
    w.alert("AL-0", "A", at(-60))
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "B", at(0))
    con = w.build()
    a, b = features_of(con, "AL-1"), features_of(con, "AL-2")
    assert a["account_tenure_days"] == approx(45)
    assert a["kyc_tier"] == 1 and a["business_account"] == 0 and a["customer_age_years"] == 76
    assert a["new_low_kyc_account"] == 1
    assert a["inflow_income_multiple"] == approx(3000 * 365 / 30 / 12_000)
    assert a["prior_alert_count"] == 1
    assert features_of(con, "AL-0")["prior_alert_count"] == 0
    assert b["business_account"] == 1 and b["customer_age_years"] is None and b["inflow_income_multiple"] is None
    assert b["new_low_kyc_account"] == 0


# --- velocity --------------------------------------------------------------------------------

def test_velocity_against_own_baseline() -> None:
    w = World()
    w.account("A", registered=at(-400))
    w.txn(at(-100), "fiat_deposit", "bank", "A", 1000.0)  # the workspace's first movement
    w.txn(at(-70), "fiat_deposit", "bank", "A", 1000.0)
    w.txn(at(-10), "fiat_deposit", "bank", "A", 3000.0)
    w.txn(at(-9), "crypto_withdrawal", "A", "0xabc", 1500.0, "BTC", 0.02)
    w.txn(at(-8), "trade", "A", "A", 500.0, "BTC", 0.01)
    w.alert("AL-1", "A", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["window_movement_count"] == 3
    assert f["baseline_days"] == approx(70)
    assert f["inflow_baseline_ratio"] == approx(3000 / (2000 * 30 / 70))
    assert f["movement_baseline_ratio"] == approx(3 / (2 * 30 / 70))
    assert f["out_in_ratio"] == approx(0.5)
    assert f["net_flow_share"] == approx(1500 / 4500)
    assert f["window_in_usd_log"] == approx(math.log10(3001))
    assert f["window_trade_share"] == approx(1 / 3) and f["baseline_trade_share"] == 0
    assert f["active_days_share"] == approx(3 / 30)
    assert f["fiat_in_share"] == 1 and f["crypto_out_share"] == 1 and f["internal_share"] == 0


def test_ratios_without_baseline_are_null() -> None:
    w = World()
    w.account("A", registered=at(-5))
    w.txn(at(-3), "crypto_withdrawal", "A", "0xabc", 100.0)
    w.alert("AL-1", "A", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["inflow_baseline_ratio"] is None and f["movement_baseline_ratio"] is None
    assert f["out_in_ratio"] is None and f["net_flow_share"] == -1


# --- thresholds ------------------------------------------------------------------------------

def _structurer() -> World:
    w = World()
    w.account("A")
    for day, usd in ((-20, 9500.0), (-15, 9200.0), (-12, 9800.0), (-3, 9900.0), (-2, 500.0)):
        w.txn(at(day), "fiat_deposit", "bank", "A", usd)
    w.alert("AL-1", "A", at(0))
    return w


def test_near_threshold_band_and_span() -> None:
    f = features_of(_structurer().build(), "AL-1", profile=US)
    assert f["near_threshold_count"] == 4 and f["over_threshold_count"] == 0
    assert f["near_threshold_share"] == approx(0.8)
    assert f["near_threshold_max_span"] == 3  # -20..-6 or -15..-1: three each
    assert f["near_threshold_span_sum_ratio"] == approx((9200 + 9800 + 9900) / 10_000)
    assert f["near_threshold_nothing_over"] == 1
    # threshold-free: the same deposits sit under the round amount 10,000
    assert f["round_band_max_span"] == 3 and f["round_band_share"] == approx(0.8)
    assert f["round_band_nothing_over"] == 1


def test_a_deposit_over_the_threshold_clears_nothing_over() -> None:
    w = _structurer()
    w.txn(at(-1), "fiat_deposit", "bank", "A", 12_000.0)
    f = features_of(w.build(), "AL-1", profile=US)
    assert f["over_threshold_count"] == 1 and f["near_threshold_nothing_over"] == 0
    assert f["round_band_nothing_over"] == 0


def test_thresholds_in_native_currency_and_the_best_matching_one() -> None:
    w = World()
    w.account("B")
    for day in (-9, -4):
        w.txn(at(day), "fiat_deposit", "bank", "B", 15_660.0, "EUR", 14_500.0)
    w.alert("AL-1", "B", at(0))
    con = w.build()
    g = features_of(con, "AL-1")  # global: 10,000 USD and 15,000 EUR; the EUR one fits
    assert g["near_threshold_count"] == 2 and g["over_threshold_count"] == 0 and g["near_threshold_nothing_over"] == 1
    assert g["near_threshold_span_sum_ratio"] == approx(29_000 / 15_000)
    u = features_of(con, "AL-1", profile=US)  # only 10,000 USD: both are over it
    assert u["near_threshold_count"] == 0 and u["over_threshold_count"] == 2


def test_travel_rule_band() -> None:
    w = World()
    w.account("A")
    w.txn(at(-5), "crypto_withdrawal", "A", "0xabc", 950.0)
    w.txn(at(-4), "crypto_withdrawal", "A", "0xabc", 2900.0)
    w.alert("AL-1", "A", at(0))
    con = w.build()
    f = features_of(con, "AL-1")
    assert f["travel_rule_near_transfers"] == 1 and f["travel_rule_near_share"] == approx(0.5)
    assert features_of(con, "AL-1", profile=JURISDICTIONS["eu"])["travel_rule_near_transfers"] == 0


# --- forwarding ------------------------------------------------------------------------------

def test_forwarding_first_in_first_out() -> None:
    w = World()
    w.account("A")
    w.account("B")
    w.txn(at(-10), "fiat_deposit", "bank", "A", 1000.0)
    w.txn(at(-10, 10), "crypto_withdrawal", "A", "0xabc", 600.0)
    w.txn(at(-10, 50), "crypto_withdrawal", "A", "0xabc", 400.0)
    # B pays out from its old balance before the deposit arrives: that forwards nothing
    w.txn(at(-40), "fiat_deposit", "bank", "B", 500.0)
    w.txn(at(-12), "crypto_withdrawal", "B", "0xdef", 500.0)
    w.txn(at(-10), "fiat_deposit", "bank", "B", 1000.0)
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "B", at(0))
    con = w.build()
    a, b = features_of(con, "AL-1"), features_of(con, "AL-2")
    assert a["forward_24h_share"] == approx(0.6) and a["forward_72h_share"] == approx(1.0)
    assert a["hours_to_next_out_log"] == approx(math.log10(11))
    assert b["forward_24h_share"] == 0 and b["forward_72h_share"] == 0 and b["hours_to_next_out_log"] is None


# --- counterparties --------------------------------------------------------------------------

def test_fan_in_degree_concentration_and_newness() -> None:
    w = World()
    for acc, reg in (("C", at(-400)), ("S1", at(-20)), ("S2", at(-20)), ("S3", at(-400)), ("S4", at(-400)),
                     ("R", at(-400))):
        w.account(acc, registered=reg)
    w.txn(at(-50), "internal_transfer", "S3", "C", 100.0)
    for i, s in enumerate(("S1", "S2", "S3", "S4")):
        w.txn(at(-10 + i), "internal_transfer", s, "C", 1000.0)
    w.txn(at(-2), "internal_transfer", "C", "R", 3000.0)
    w.alert("AL-1", "C", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["sender_count"] == 4 and f["account_sender_count"] == 4
    assert f["sender_top_share"] == approx(0.25) and f["sender_hhi"] == approx(0.25)
    assert f["in_transfer_amount_cv"] == approx(0.0) and f["out_transfer_amount_cv"] is None
    assert f["new_account_sender_share"] == approx(0.5)
    assert f["recurring_sender_share"] == approx(0.25)
    assert f["receiver_count"] == 1 and f["receiver_top_share"] == 1 and f["receiver_hhi"] == 1
    assert f["first_seen_counterparty_share"] == approx(4 / 5)
    assert f["recurring_receiver_share"] == 0


# --- network ---------------------------------------------------------------------------------

def test_scatter_to_common_sink_layers_and_co_senders() -> None:
    w = World()
    for acc in ("A", "R1", "R2", "R3", "K", "Z", "B", "L"):
        w.account(acc)
    for r in ("R1", "R2", "R3"):
        w.txn(at(-10), "internal_transfer", "A", r, 1000.0)
        w.txn(at(-10, 5), "internal_transfer", r, "K", 900.0)
    w.txn(at(-10, 80), "internal_transfer", "R1", "L", 100.0)  # after 72 h: not forwarding
    w.txn(at(-10, 20), "internal_transfer", "K", "Z", 2000.0)
    w.txn(at(-8), "internal_transfer", "B", "R1", 500.0)
    w.txn(at(-8), "internal_transfer", "B", "R2", 500.0)
    w.alert("AL-1", "A", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["receiver_forward_share"] == approx(2700 / 3000)
    assert f["common_sink_receivers"] == 3 and f["common_sink_receiver_share"] == 1
    assert f["second_layer_accounts"] == 1
    assert f["second_layer_forward_share"] == approx(2000 / 2700)
    assert f["co_sender_count"] == 1 and f["co_sender_overlap"] == approx(2 / 3)


# --- cycles ----------------------------------------------------------------------------------

def test_round_trip_and_time_order() -> None:
    w = World()
    for acc in ("A", "B", "C", "D", "E"):
        w.account(acc)
    w.txn(at(-10), "internal_transfer", "A", "B", 1000.0)
    w.txn(at(-9), "internal_transfer", "B", "C", 900.0)
    w.txn(at(-8), "internal_transfer", "C", "A", 800.0)
    w.txn(at(-5), "internal_transfer", "D", "E", 1000.0)
    w.txn(at(-7), "internal_transfer", "E", "D", 900.0)  # came "back" before it left: no cycle
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "D", at(0))
    con = w.build()
    a, d = features_of(con, "AL-1"), features_of(con, "AL-2")
    assert a["round_trip_return_share"] == approx(0.8) and a["round_trip_length"] == 3 and a["round_trip_count"] == 1
    assert d["round_trip_return_share"] == 0 and d["round_trip_length"] == 0 and d["round_trip_count"] == 0


# --- exposure --------------------------------------------------------------------------------

X, Y, S, W, V = (f"0x{c * 40}" for c in "abcde")


def test_exposure_hops_and_reach_shares() -> None:
    w = World()
    w.account("A")
    w.account("B")
    w.address(Y, "mixer")
    w.address(S.upper().replace("0X", "0x"), "sanctioned")  # EVM addresses compare case-insensitively
    w.address(V, "phishing")
    w.txn(at(-6), "crypto_deposit", S, "A", 250.0)
    w.txn(at(-5), "crypto_withdrawal", "A", X, 1000.0)
    w.chain(at(-4), X, Y, 500.0)
    w.chain(at(-4), V, W, 100.0)
    w.txn(at(-3), "crypto_deposit", W, "A", 100.0)
    # B: the only on-chain hop to a mixer happened before B's withdrawal reached it
    w.txn(at(-5), "crypto_withdrawal", "B", "0x" + "f" * 40, 300.0)
    w.chain(at(-6), "0x" + "f" * 40, Y, 300.0)
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "B", at(0))
    con = w.build()
    a, b = features_of(con, "AL-1"), features_of(con, "AL-2")
    total = 1350.0
    assert a["sanctioned_hops"] == 1 and a["mixer_hops"] == 2 and a["scam_hops"] == 2 and a["risky_hops"] == 1
    assert a["sanctioned_reach_share"] == approx(250 / total)
    assert a["mixer_reach_share"] == approx(500 / total)
    assert a["scam_reach_share"] == approx(100 / total)
    assert a["risky_reach_share"] == approx(850 / total)
    assert a["risky_direct_share"] == approx(250 / total)
    assert a["scam_linked_sender_count"] == 1 and a["scam_linked_sender_share"] == approx(0.5)
    assert b["mixer_hops"] == 99 and b["mixer_reach_share"] == 0 and b["risky_hops"] == 99


def test_exchange_labelled_withdrawals() -> None:
    w = World()
    w.account("A")
    w.address(X, "exchange")
    w.txn(at(-5), "crypto_withdrawal", "A", X, 300.0)
    w.txn(at(-4), "crypto_withdrawal", "A", Y, 100.0)
    w.alert("AL-1", "A", at(0))
    assert features_of(w.build(), "AL-1")["exchange_withdrawal_share"] == approx(0.75)


# --- devices ---------------------------------------------------------------------------------

def test_shared_devices_collector_and_hubs() -> None:
    w = World()
    w.account("A")
    w.account("B", kyc=0, registered=at(-30))
    w.account("C", kyc=0, registered=at(-30))
    w.account("D")
    w.account("K")
    for acc in ("A", "B", "C"):
        w.login(at(-20), acc, "DEV-1", f"10.0.0.{ord(acc)}")
    w.login(at(-19), "A", "DEV-A", "1.2.3.4")
    w.login(at(-18), "D", "DEV-D", "1.2.3.4")
    for i in range(25):  # a carrier NAT: links nothing
        w.login(at(-17), f"N{i}", f"DEV-N{i}", "9.9.9.9")
    w.login(at(-17), "A", "DEV-A", "9.9.9.9")
    for acc, usd in (("B", 900.0), ("C", 800.0)):
        w.txn(at(-10), "fiat_deposit", "bank", acc, 1000.0)
        w.txn(at(-10, 3), "internal_transfer", acc, "K", usd)
    w.alert("AL-1", "A", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["shared_device_account_count"] == 2 and f["shared_ip_account_count"] == 1
    assert f["linked_new_low_kyc_share"] == approx(2 / 3)
    assert f["linked_collector_members"] == 2 and f["linked_collector_share"] == approx(0.5)
    assert f["linked_forward_share"] == approx(1700 / 2000)


# --- access ----------------------------------------------------------------------------------

def test_takeover_signs_before_a_withdrawal() -> None:
    w = World()
    w.account("A", country="US")
    w.account("B")
    w.login(at(-100), "A", "DEV-OLD", "10.0.0.1", "US")
    w.login(at(-2), "A", "DEV-NEW", "10.9.9.9", "RO")
    w.login(at(-2, 1), "A", "DEV-NEW", "10.9.9.9", "RO", event="2fa_reset")
    w.txn(at(-50), "fiat_deposit", "bank", "A", 5000.0)
    w.txn(at(-1), "crypto_withdrawal", "A", X, 4500.0)
    w.txn(at(-60), "fiat_deposit", "bank", "B", 1000.0)
    w.txn(at(-60), "crypto_withdrawal", "B", Y, 100.0)
    w.txn(at(-5), "crypto_withdrawal", "B", Y, 300.0)
    w.txn(at(-5), "crypto_withdrawal", "B", V, 100.0)
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "B", at(0))
    con = w.build()
    a, b = features_of(con, "AL-1"), features_of(con, "AL-2")
    assert a["new_device_count"] == 1 and a["new_country_count"] == 1 and a["security_event_count"] == 1
    assert a["new_device_pre_withdrawal"] == 1 and a["new_country_pre_withdrawal"] == 1
    assert a["security_event_pre_withdrawal"] == 1
    assert a["largest_withdrawal_held_share"] == approx(0.9)
    assert a["crypto_out_new_address_share"] == 1 and a["crypto_out_top_address_share"] == 1
    assert b["new_device_count"] == 0 and b["new_device_pre_withdrawal"] == 0
    assert b["crypto_out_new_address_share"] == approx(0.25) and b["crypto_out_top_address_share"] == approx(0.75)
    assert b["largest_withdrawal_held_share"] == approx(300 / 900)


# --- p2p -------------------------------------------------------------------------------------

def test_p2p_disputes_and_third_party_payers() -> None:
    w = World()
    for acc in ("A", "M1", "M2", "M3"):
        w.account(acc)
    w.p2p(at(-90), "M1", "A", 100.0)
    w.p2p(at(-80), "M1", "A", 100.0)
    w.p2p(at(-9), "M1", "A", 100.0, "disputed")
    w.p2p(at(-8), "M2", "A", 100.0, "chargeback")
    w.p2p(at(-7), "A", "M3", 100.0, third_party=True)
    w.p2p(at(-6), "A", "M3", 100.0)
    w.alert("AL-1", "A", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["p2p_order_count"] == 4 and f["p2p_dispute_count"] == 2 and f["p2p_dispute_share"] == approx(0.5)
    assert f["p2p_third_party_count"] == 1 and f["p2p_third_party_share"] == approx(0.25)
    assert f["p2p_completed_before_log"] == approx(math.log10(3))
    assert f["p2p_counterparty_count"] == 3


# --- the API's contract ----------------------------------------------------------------------

def _mixed() -> World:
    w = _structurer()
    w.account("Q", registered=at(-3))
    w.alert("AL-Q", "Q", at(0))  # an account with no activity at all
    return w


def test_columns_types_defaults_and_documented_nulls() -> None:
    table = compute_features(_mixed().build())
    assert table.column_names == ["alert_id", *FEATURE_NAMES]
    assert all(table.schema.field(n).type == pa.float64() for n in FEATURE_NAMES)
    quiet = next(r for r in table.to_pylist() if r["alert_id"] == "AL-Q")
    for f in FEATURES:
        if f.nullable:
            continue
        assert quiet[f.name] is not None, f.name
        if f.group not in ("account", "velocity"):
            assert quiet[f.name] == f.default, f.name
    for row in table.to_pylist():
        for f in FEATURES:
            assert row[f.name] is not None or f.nullable, f.name


def test_one_alert_is_the_same_statement_filtered() -> None:
    con = _mixed().build()
    full = {r["alert_id"]: r for r in compute_features(con).to_pylist()}
    for alert_id, row in full.items():
        assert compute_features(con, [alert_id]).to_pylist() == [row]
        assert compute_alert_features(con, alert_id) == {k: v for k, v in row.items() if k != "alert_id"}
    assert compute_features(con, ["AL-1", "NOPE"]).column("alert_id").to_pylist() == ["AL-1"]
    assert compute_features(con, []).num_rows == 0


def test_unknown_alert_is_not_found() -> None:
    from tools.errors import NotFound

    with pytest.raises(NotFound):
        compute_alert_features(_mixed().build(), "NOPE")


def test_rule_id_and_wording_are_never_read() -> None:
    base = compute_features(_mixed().build())
    w = _mixed()
    w.rows["alerts"] = [(a, c, acc, "VENDOR-X-99", "Unusual transfer pattern", t, s)
                        for a, c, acc, _r, _d, t, s in w.rows["alerts"]]
    assert compute_features(w.build()).equals(base)
    sql = statement(Query(filtered=True)).lower()
    assert "rule_id" not in sql and "description" not in sql


def test_window_setting_moves_the_window() -> None:
    con = _structurer().build()
    assert features_of(con, "AL-1", window_days=10, profile=US)["near_threshold_count"] == 1
    with pytest.raises(ValueError):
        compute_features(con, window_days=0)


def test_through_a_read_only_database(tmp_path: Path) -> None:
    from tools.db import Database

    path = tmp_path / "ws.duckdb"
    _structurer().build(str(path)).close()
    db = Database(path)
    assert compute_alert_features(db, "AL-1", US)["near_threshold_count"] == 4


def test_docs_are_generated_from_the_registry() -> None:
    from tools.features.doc import render_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "features.md"
    assert doc.read_text() == render_markdown(), "run: python -m tools.features.doc > docs/features.md"


def test_every_feature_is_a_fact_of_the_features_step() -> None:
    from tools.facts import FACTS, facts_of

    assert facts_of("features") == list(FEATURE_NAMES)
    assert all(FACTS[n][0] == "features" for n in FEATURE_NAMES)
    assert all(f.description and f.unit for f in FEATURES)


def test_features_evidence_step_records_every_feature_as_a_fact(tmp_path: Path) -> None:
    from tools.db import Database
    from tools.evidence import EvidenceLedger
    from tools.features.tool import features

    path = tmp_path / "ws.duckdb"
    _structurer().build(str(path)).close()
    db = Database(path)
    ev = features(db, EvidenceLedger(), "AL-1", US)
    assert ev.id == "E1" and ev.tool == "features" and ev.error is None
    assert set(ev.facts) == set(FEATURE_NAMES)
    values = compute_alert_features(db, "AL-1", US)
    assert all(ev.facts[k] == (None if v is None else round(v, 6)) for k, v in values.items())
    assert ["near_threshold_count", "thresholds", 4.0, "count"] in ev.rows


def test_playbooks_may_name_the_features_step() -> None:
    from tools.playbooks.schema import EvidenceStep
    from tools.registry import TOOLS

    step = EvidenceStep(id="features", tool="features", why="the generic feature vector of the alert")
    assert TOOLS[step.tool].facts == list(FEATURE_NAMES)


def test_deposit_escalation_and_growth() -> None:
    w = World()
    w.account("A")
    for day, usd in ((-20, 500.0), (-15, 300.0), (-10, 800.0), (-6, 2000.0), (-3, 5000.0), (-1, 4000.0)):
        w.txn(at(day), "fiat_deposit", "bank", "A", usd)
    w.alert("AL-1", "A", at(0))
    f = features_of(w.build(), "AL-1")
    assert f["deposit_escalation_run"] == 4  # 300 < 800 < 2000 < 5000
    assert f["deposit_growth_ratio"] == approx(4000 / 500)


def test_forwarding_within_a_week_and_long_cycles() -> None:
    w = World()
    nodes = ["A", "B1", "B2", "B3", "B4", "B5", "B6"]
    for acc in nodes:
        w.account(acc)
    w.txn(at(-20), "fiat_deposit", "bank", "A", 1000.0)
    for i, (src, dst) in enumerate(zip(nodes, [*nodes[1:], "A"], strict=True)):
        w.txn(at(-19 + i), "internal_transfer", src, dst, 1000.0 - 10 * i)  # 7 movements, 6 accounts between
    w.account("C")
    w.txn(at(-20), "fiat_deposit", "bank", "C", 1000.0)
    w.txn(at(-15), "crypto_withdrawal", "C", "0xabc", 1000.0)  # five days later
    w.alert("AL-1", "A", at(0))
    w.alert("AL-2", "C", at(0))
    con = w.build()
    f, c = features_of(con, "AL-1"), features_of(con, "AL-2")
    assert f["round_trip_length"] == 7 and f["round_trip_return_share"] == approx(0.94)
    assert f["forward_24h_share"] == approx(1000 / 1940)  # what came back stayed
    assert c["forward_72h_share"] == 0 and c["forward_168h_share"] == approx(1.0)
