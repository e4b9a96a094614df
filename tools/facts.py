"""The catalogue of named facts that tools compute and playbook scorecards read.

A playbook's red flags, mitigating factors and disposition rules are expressions over these names
(plus the columns of its own `sql` evidence steps). The playbook validator rejects a name that is
neither here nor produced by one of the playbook's sql steps, so no check reads a fact nothing makes.
Conventions: counts are ints; shares are 0..1 of USD; `*_min_hops` is 99 when nothing was found
within the hop limit; booleans are 0/1 ints so they compare like numbers.
"""

from __future__ import annotations

NONE_HOPS = 99

FACTS: dict[str, tuple[str, str]] = {
    # name: (tool, meaning)
    # --- profile(account, as_of): KYC, baseline vs alert window, logins, P2P ---
    "account_age_days": ("profile", "days from registration to the alert"),
    "kyc_level": ("profile", "KYC level 0-3"),
    "is_business": ("profile", "1 if a business account"),
    "age_years": ("profile", "customer age in years at the alert (individuals; -1 if unknown)"),
    "declared_income_usd": ("profile", "declared yearly income or turnover (-1 if unknown)"),
    "window_in_usd": ("profile", "USD into the account in the alert window (deposits and transfers in)"),
    "window_out_usd": ("profile", "USD out of the account in the alert window (withdrawals, transfers out)"),
    "window_out_in_ratio": ("profile", "window_out_usd / window_in_usd (0 when nothing came in)"),
    "baseline_monthly_in_usd": ("profile", "average USD in per 30 days before the window"),
    "inflow_vs_baseline": ("profile", "window_in_usd / baseline_monthly_in_usd (window_in_usd if no baseline)"),
    "inflow_vs_income": ("profile", "window_in_usd * 12 / declared income (annualised; -1 if unknown)"),
    "window_txn_count": ("profile", "transactions in the window"),
    "window_trade_count": ("profile", "trades (buy/sell on the order book) in the window"),
    "baseline_trade_count": ("profile", "trades before the window"),
    "window_fiat_deposits": ("profile", "fiat deposits in the window"),
    "near_threshold_deposits": ("profile", "fiat deposits 9,000 <= USD < 10,000 in the window"),
    "over_threshold_deposits": ("profile", "fiat deposits >= 10,000 USD in the window"),
    "escalating_deposit_run": ("profile", "longest run of strictly increasing fiat deposits in the window"),
    "fiat_to_crypto_out_72h_share": ("profile", "share of window fiat deposits withdrawn as crypto within 72 h"),
    "withdrawal_new_address_share": ("profile", "share of window crypto withdrawals to addresses never used before"),
    "withdrawal_top_address_share": ("profile", "share of window crypto withdrawals going to the single top address"),
    "withdrawal_exchange_share": ("profile", "share of window crypto withdrawals to addresses labelled exchange"),
    "largest_withdrawal_balance_share": ("profile", "largest window withdrawal / net USD held just before it"),
    "new_devices_window": ("profile", "devices first seen in the window"),
    "new_countries_window": ("profile", "login countries first seen in the window and not the KYC country"),
    "security_events_window": ("profile", "2fa_reset, password_change and email_change events in the window"),
    "new_device_before_withdrawal": ("profile", "1 if a new-device login came within 72 h before a window withdrawal"),
    "prior_alerts": ("profile", "alerts on the account before this one"),
    "p2p_orders_window": ("profile", "P2P orders in the window (as buyer or seller)"),
    "p2p_disputes_window": ("profile", "disputed or charged-back P2P orders in the window"),
    "p2p_third_party_window": ("profile", "P2P orders in the window paid by a third party"),
    "p2p_completed_total": ("profile", "completed P2P orders over the account's life"),
    # --- counterparties(account, window) ---
    "in_counterparties_window": ("counterparties", "distinct senders to the account in the window"),
    "out_counterparties_window": ("counterparties", "distinct receivers from the account in the window"),
    "in_account_senders_7d": ("counterparties", "most distinct exchange accounts sending in any 7 days of the window"),
    "out_account_receivers_7d": ("counterparties", "most distinct exchange accounts received in any 7 days of the window"),
    "new_counterparty_share": ("counterparties", "share of window counterparties never seen before the window"),
    "amount_uniformity": ("counterparties", "1 - coefficient of variation of window internal transfer amounts (0..1)"),
    "recurring_counterparty_share": ("counterparties", "share of window counterparties also paid in earlier months"),
    # --- exposure(account, max_hops) ---
    "sanctioned_min_hops": ("exposure", "fewest hops to a sanctioned address (99 none)"),
    "sanctioned_share": ("exposure", "share of the account's window crypto flow reaching a sanctioned address"),
    "mixer_min_hops": ("exposure", "fewest hops to a mixer address (99 none)"),
    "mixer_share": ("exposure", "share of the account's window crypto flow reaching a mixer"),
    "scam_min_hops": ("exposure", "fewest hops to a scam or phishing address (99 none)"),
    "scam_share": ("exposure", "share of the account's window crypto flow reaching scam/phishing addresses"),
    "scam_linked_senders": ("exposure", "distinct external senders in the window within 2 hops of scam/phishing"),
    "risky_min_hops": ("exposure", "fewest hops to any risky category (99 none)"),
    # --- clusters(account) ---
    "shared_device_accounts": ("clusters", "other accounts sharing a device with the account"),
    "shared_ip_accounts": ("clusters", "other accounts sharing an IP with the account"),
    "cluster_size": ("clusters", "accounts in the device/IP cluster including this one"),
    "cluster_common_collector": ("clusters", "1 if 2+ cluster members send to one common account"),
    "cluster_forward_share": ("clusters", "share of cluster inflow forwarded to the common collector within 48 h"),
    "cluster_new_low_kyc_share": ("clusters", "share of cluster accounts younger than 90 days with KYC <= 1"),
    # --- cycles(account) ---
    "cycle_count": ("cycles", "fund cycles that return to the account within the window (max 4 hops)"),
    "cycle_return_share": ("cycles", "largest share of a cycle's outgoing USD that came back"),
    # --- flow_shape(account): AMLSim-style patterns around the account in the window ---
    "forward_share_72h": ("flow_shape", "share of window inflow sent out again within 72 h"),
    "intermediaries_to_common_sink": ("flow_shape", "receivers of the account that forward to one common sink"),
    "layer_depth": ("flow_shape", "longest chain of forwarding layers out of the account within 72 h"),
    "layer_width": ("flow_shape", "smallest number of accounts in any forwarding layer"),
    "bipartite_pairs": ("flow_shape", "sender-receiver pairs in a complete bipartite block with the account"),
    # --- screening(addresses) ---
    "screening_hits": ("screening", "addresses screened that are on a list"),
    "sanctioned_hits": ("screening", "addresses screened that are on a sanctions list"),
}


def _feature_facts() -> dict[str, tuple[str, str]]:
    """The feature store's features (tools/features), owned by the `features` evidence step."""
    from tools.features import FEATURES as FEATURE_DEFS

    return {f.name: ("features", f"{f.description} [{f.unit}]") for f in FEATURE_DEFS}


FACTS.update(_feature_facts())


def facts_of(tool: str) -> list[str]:
    """The fact names a tool is responsible for."""
    return [name for name, (owner, _) in FACTS.items() if owner == tool]
