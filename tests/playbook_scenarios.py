"""Fact sheets for the clear / partial / benign scenarios of docs/data-spec.md, per typology.

A neutral "ordinary customer" baseline plus the overrides the spec says each scenario makes true
(amount uniformity as the generator plants it: +-3% amounts for clear cases, +-10% for partial).
The playbook tests run every playbook's scorecard over these (as the rules backend does with all
candidates of an alert) and check that the chosen typology and disposition match the spec, so a
threshold change that stops the scorecards separating clear, partial and benign fails a test.
"""

from __future__ import annotations

from typing import Any

from tools.features import FEATURES

BASELINE: dict[str, Any] = {
    # profile
    "account_age_days": 700, "kyc_level": 2, "is_business": 0, "age_years": 42, "declared_income_usd": 60000,
    "window_in_usd": 5000, "window_out_usd": 4000, "window_out_in_ratio": 0.8, "baseline_monthly_in_usd": 5000,
    "inflow_vs_baseline": 1.0, "inflow_vs_income": 1.0, "window_txn_count": 20, "window_trade_count": 8,
    "baseline_trade_count": 100, "window_fiat_deposits": 2, "near_threshold_deposits": 0,
    "over_threshold_deposits": 0, "escalating_deposit_run": 1, "fiat_to_crypto_out_72h_share": 0.1,
    "withdrawal_new_address_share": 0.0, "withdrawal_top_address_share": 1.0, "withdrawal_exchange_share": 0.0,
    "largest_withdrawal_balance_share": 0.3, "new_devices_window": 0, "new_countries_window": 0,
    "security_events_window": 0, "new_device_before_withdrawal": 0, "prior_alerts": 0, "p2p_orders_window": 0,
    "p2p_disputes_window": 0, "p2p_third_party_window": 0, "p2p_completed_total": 0,
    # counterparties
    "in_counterparties_window": 2, "out_counterparties_window": 1, "in_account_senders_7d": 0,
    "out_account_receivers_7d": 0, "new_counterparty_share": 0.2, "amount_uniformity": 0.2,
    "recurring_counterparty_share": 0.8,
    # exposure
    "sanctioned_min_hops": 99, "sanctioned_share": 0.0, "mixer_min_hops": 99, "mixer_share": 0.0,
    "scam_min_hops": 99, "scam_share": 0.0, "scam_linked_senders": 0, "risky_min_hops": 99,
    # clusters
    "shared_device_accounts": 0, "shared_ip_accounts": 0, "cluster_size": 1, "cluster_common_collector": 0,
    "cluster_forward_share": 0.0, "cluster_new_low_kyc_share": 0.0,
    # cycles, flow shape, screening
    "cycle_count": 0, "cycle_return_share": 0.0, "forward_share_72h": 0.1, "intermediaries_to_common_sink": 0,
    "layer_depth": 0, "layer_width": 0, "bipartite_pairs": 0, "screening_hits": 0, "sanctioned_hits": 0,
    # playbook sql steps
    "near_threshold_max_14d": 0, "near_threshold_sources": 0, "near_threshold_total_usd": 0,
    "rapid_cycles_24h": 0, "crypto_out_24h_share": 0.05, "crypto_deposits_window": 1, "crypto_deposit_sources": 1,
    "crypto_deposit_median_usd": 300, "withdrawal_addresses_window": 1, "crypto_withdrawals_window": 1,
    "crypto_withdrawn_usd": 1500, "hours_security_to_withdrawal": 9999, "withdrawal_addresses_after_security": 0,
    "p2p_dispute_counterparties": 0, "p2p_payment_methods": 0, "p2p_disputed_usd": 0,
    "internal_senders_window": 0, "new_sender_accounts": 0, "internal_in_usd": 0, "internal_recipients_window": 0,
    "new_recipient_accounts": 0, "internal_out_usd": 0, "return_within_7d_share": 0.0, "internal_out_count": 0,
    "co_senders_to_same_receivers": 0,
    # feature store (tools/features): every feature at its no-activity default
    **{f.name: f.default for f in FEATURES},
}

# (typology, strength) -> overrides; strength is the expected disposition.
SCENARIOS: dict[tuple[str, str], dict[str, Any]] = {
    ("structuring", "sar"): {"near_threshold_deposits": 7, "near_threshold_max_14d": 7, "over_threshold_deposits": 0,
                             "window_fiat_deposits": 7, "inflow_vs_income": 6.0, "near_threshold_sources": 1},
    ("structuring", "escalate"): {"near_threshold_deposits": 3, "near_threshold_max_14d": 3,
                                  "window_fiat_deposits": 3, "inflow_vs_income": 1.2},
    ("structuring", "close"): {"is_business": 1, "near_threshold_deposits": 6, "near_threshold_max_14d": 4,
                               "over_threshold_deposits": 5, "inflow_vs_income": 0.7, "window_fiat_deposits": 14},
    ("structuring", "close/one-off"): {"near_threshold_deposits": 2, "near_threshold_max_14d": 2,
                                      "inflow_vs_income": 0.8},
    ("pass_through", "sar"): {"fiat_to_crypto_out_72h_share": 0.95, "rapid_cycles_24h": 4, "window_trade_count": 0,
                              "account_age_days": 40, "withdrawal_new_address_share": 1.0, "baseline_trade_count": 0,
                              "withdrawal_top_address_share": 0.3},
    ("pass_through", "escalate"): {"fiat_to_crypto_out_72h_share": 0.8, "rapid_cycles_24h": 1,
                                   "window_trade_count": 1, "withdrawal_new_address_share": 1.0},
    ("pass_through", "close"): {"fiat_to_crypto_out_72h_share": 0.92, "rapid_cycles_24h": 3, "window_trade_count": 60,
                                "baseline_trade_count": 900, "account_age_days": 1200, "withdrawal_exchange_share": 1.0,
                                "withdrawal_new_address_share": 0.0},
    ("mixer_exposure", "sar"): {"mixer_min_hops": 1, "mixer_share": 0.4, "risky_min_hops": 1,
                                "withdrawal_new_address_share": 1.0},
    ("mixer_exposure", "sar/share"): {"mixer_min_hops": 2, "mixer_share": 0.3, "risky_min_hops": 2},
    ("mixer_exposure", "escalate"): {"mixer_min_hops": 3, "mixer_share": 0.12, "risky_min_hops": 3},
    ("mixer_exposure", "close"): {"mixer_min_hops": 4, "mixer_share": 0.01, "risky_min_hops": 4},
    ("sanctions_exposure", "sar"): {"sanctioned_min_hops": 1, "sanctioned_share": 0.5, "sanctioned_hits": 1,
                                    "screening_hits": 1, "risky_min_hops": 1},
    ("sanctions_exposure", "escalate"): {"sanctioned_min_hops": 2, "sanctioned_share": 0.1, "risky_min_hops": 2},
    ("sanctions_exposure", "close"): {"sanctioned_min_hops": 4, "sanctioned_share": 0.004, "risky_min_hops": 4},
    ("scam_proceeds", "sar"): {"scam_linked_senders": 11, "crypto_deposits_window": 14, "crypto_deposit_sources": 12,
                               "forward_share_72h": 0.9, "scam_min_hops": 2, "in_counterparties_window": 12,
                               "new_counterparty_share": 0.95},
    ("scam_proceeds", "escalate"): {"scam_linked_senders": 4, "crypto_deposits_window": 6,
                                    "crypto_deposit_sources": 6, "forward_share_72h": 0.6},
    ("scam_proceeds", "close"): {"is_business": 1, "scam_linked_senders": 0, "crypto_deposits_window": 40,
                                 "crypto_deposit_sources": 35, "forward_share_72h": 0.1, "in_counterparties_window": 35},
    ("scam_victim", "sar"): {"age_years": 68, "escalating_deposit_run": 5, "withdrawal_top_address_share": 1.0,
                             "withdrawal_new_address_share": 1.0, "scam_min_hops": 2, "inflow_vs_income": 4.0,
                             "fiat_to_crypto_out_72h_share": 0.95, "window_trade_count": 5, "rapid_cycles_24h": 5},
    ("scam_victim", "escalate"): {"age_years": 66, "escalating_deposit_run": 3, "withdrawal_top_address_share": 1.0,
                                  "withdrawal_new_address_share": 1.0, "inflow_vs_income": 1.5,
                                  "fiat_to_crypto_out_72h_share": 0.9, "window_trade_count": 3, "rapid_cycles_24h": 3},
    ("scam_victim", "close"): {"age_years": 31, "declared_income_usd": 250000, "escalating_deposit_run": 3,
                               "withdrawal_top_address_share": 1.0, "withdrawal_new_address_share": 0.0,
                               "inflow_vs_income": 0.5, "fiat_to_crypto_out_72h_share": 0.6, "window_trade_count": 6},
    ("account_takeover", "sar"): {"new_devices_window": 1, "new_countries_window": 1, "security_events_window": 2,
                                  "new_device_before_withdrawal": 1, "largest_withdrawal_balance_share": 0.95,
                                  "withdrawal_new_address_share": 1.0, "hours_security_to_withdrawal": 5},
    ("account_takeover", "escalate"): {"new_devices_window": 1, "new_countries_window": 1,
                                       "new_device_before_withdrawal": 1, "largest_withdrawal_balance_share": 0.7,
                                       "withdrawal_new_address_share": 1.0},
    ("account_takeover", "close"): {"new_devices_window": 1, "new_device_before_withdrawal": 1,
                                    "largest_withdrawal_balance_share": 0.5, "withdrawal_new_address_share": 0.0},
    ("mule_network", "sar"): {"cluster_size": 6, "shared_device_accounts": 5, "cluster_common_collector": 1,
                              "cluster_forward_share": 0.9, "cluster_new_low_kyc_share": 0.8, "account_age_days": 30,
                              "kyc_level": 1},
    ("mule_network", "escalate"): {"cluster_size": 3, "shared_device_accounts": 2, "cluster_common_collector": 1,
                                   "cluster_forward_share": 0.5, "cluster_new_low_kyc_share": 0.34},
    ("mule_network", "close"): {"cluster_size": 4, "shared_ip_accounts": 3, "cluster_common_collector": 0,
                                "cluster_forward_share": 0.0},
    ("p2p_fraud", "sar"): {"p2p_orders_window": 9, "p2p_disputes_window": 4, "p2p_third_party_window": 3,
                           "account_age_days": 45, "p2p_completed_total": 5, "p2p_dispute_counterparties": 4},
    ("p2p_fraud", "escalate"): {"p2p_orders_window": 10, "p2p_disputes_window": 2, "p2p_third_party_window": 1,
                                "account_age_days": 200, "p2p_completed_total": 12},
    ("p2p_fraud", "close"): {"p2p_orders_window": 40, "p2p_disputes_window": 1, "p2p_third_party_window": 0,
                             "account_age_days": 1500, "p2p_completed_total": 400},
    ("fan_in", "sar"): {"in_account_senders_7d": 12, "amount_uniformity": 0.9, "forward_share_72h": 0.85,
                        "new_counterparty_share": 0.9, "recurring_counterparty_share": 0.05, "in_counterparties_window": 12},
    ("fan_in", "escalate"): {"in_account_senders_7d": 7, "amount_uniformity": 0.85, "forward_share_72h": 0.6,
                             "new_counterparty_share": 0.9, "recurring_counterparty_share": 0.1},
    ("fan_in", "close"): {"is_business": 1, "in_account_senders_7d": 25, "amount_uniformity": 0.1,
                          "forward_share_72h": 0.1, "new_counterparty_share": 0.5, "recurring_counterparty_share": 0.5},
    ("fan_out", "sar"): {"out_account_receivers_7d": 12, "amount_uniformity": 0.9, "new_counterparty_share": 0.95,
                         "recurring_counterparty_share": 0.0, "internal_recipients_window": 12,
                         "new_recipient_accounts": 10},
    ("fan_out", "escalate"): {"out_account_receivers_7d": 7, "amount_uniformity": 0.85, "new_counterparty_share": 0.9,
                              "recurring_counterparty_share": 0.1},
    ("fan_out", "close"): {"is_business": 1, "out_account_receivers_7d": 14, "amount_uniformity": 0.85,
                           "new_counterparty_share": 0.05, "recurring_counterparty_share": 0.95},
    ("cycle", "sar"): {"cycle_count": 1, "cycle_return_share": 0.92, "return_within_7d_share": 0.92},
    ("cycle", "escalate"): {"cycle_count": 1, "cycle_return_share": 0.65, "return_within_7d_share": 0.65},
    ("cycle", "close"): {"cycle_count": 1, "cycle_return_share": 0.9, "return_within_7d_share": 0.0},
    ("scatter_gather", "sar"): {"out_account_receivers_7d": 6, "intermediaries_to_common_sink": 6,
                                "amount_uniformity": 0.8, "new_counterparty_share": 0.9,
                                "recurring_counterparty_share": 0.0, "layer_depth": 1, "layer_width": 6},
    ("scatter_gather", "escalate"): {"out_account_receivers_7d": 4, "intermediaries_to_common_sink": 3,
                                     "amount_uniformity": 0.6, "new_counterparty_share": 0.8, "layer_depth": 1,
                                     "layer_width": 3},
    ("gather_scatter", "sar"): {"in_account_senders_7d": 6, "out_account_receivers_7d": 6, "forward_share_72h": 0.9,
                                "new_counterparty_share": 0.9, "recurring_counterparty_share": 0.05,
                                "amount_uniformity": 0.6},
    ("gather_scatter", "escalate"): {"in_account_senders_7d": 3, "out_account_receivers_7d": 4,
                                     "forward_share_72h": 0.7, "new_counterparty_share": 0.8,
                                     "recurring_counterparty_share": 0.1},
    ("gather_scatter", "close"): {"is_business": 1, "in_account_senders_7d": 8, "out_account_receivers_7d": 7,
                                  "forward_share_72h": 0.9, "inflow_vs_income": 0.9, "new_counterparty_share": 0.3,
                                  "recurring_counterparty_share": 0.7},
    ("bipartite", "sar"): {"bipartite_pairs": 12, "out_account_receivers_7d": 4, "amount_uniformity": 0.98,
                           "new_counterparty_share": 0.9, "recurring_counterparty_share": 0.0,
                           "co_senders_to_same_receivers": 3},
    ("bipartite", "escalate"): {"bipartite_pairs": 4, "out_account_receivers_7d": 2, "amount_uniformity": 0.94,
                                "new_counterparty_share": 0.8, "recurring_counterparty_share": 0.1},
    ("stack", "sar"): {"layer_depth": 2, "layer_width": 3, "out_account_receivers_7d": 3, "forward_share_72h": 0.9,
                       "new_counterparty_share": 0.9, "recurring_counterparty_share": 0.0},
    ("stack", "escalate"): {"layer_depth": 2, "layer_width": 2, "out_account_receivers_7d": 2,
                            "forward_share_72h": 0.6, "new_counterparty_share": 0.8, "recurring_counterparty_share": 0.1},
}


def facts_for(overrides: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Baseline plus overrides, in the scorecard's (value, evidence id) form."""
    merged = {**BASELINE, **overrides}
    return {k: (v, "E2") for k, v in merged.items()}
