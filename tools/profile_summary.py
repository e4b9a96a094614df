"""The profile's prose summary: every figure exact and in the order an investigator reads them.

Kept apart from `tools.profile` (which computes) so the wording can change without touching a
query. Figures are the already-rounded facts, so the text and the facts never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tools.evidence import FactValue

if TYPE_CHECKING:
    from tools.profile import Logins, Move


def _usd(value: float) -> str:
    return f"{value:,.2f} USD"


def render_summary(account_id: str, acct: dict[str, Any], facts: dict[str, FactValue], as_of: dt.datetime,
                   ws: dt.datetime, window_days: int, base_days: float, logins: Logins, new_countries: list[str],
                   withdrawals: list[Move], largest: Move | None, by_address: dict[str, float],
                   crypto_total: float, prior: list[tuple[Any, ...]]) -> str:
    """KYC, window vs baseline, deposits, withdrawals, logins, P2P and prior alerts in one paragraph."""
    who = f"{acct['kind'] or 'unknown kind'}, KYC {acct['kyc_level']}, country {acct['country']}"
    if acct["risk_rating"]:
        who += f", risk rating {acct['risk_rating']}"
    if acct["occupation"]:
        who += f", occupation {acct['occupation']}"
    if facts["age_years"] != -1:
        who += f", aged {facts['age_years']}"
    if facts["declared_income_usd"] != -1:
        who += f", declared income {_usd(float(facts['declared_income_usd']))}/yr"
    reg = acct["registered_at"]
    parts = [
        f"{account_id} ({who}); registered {reg:%Y-%m-%d} ({facts['account_age_days']} days before as-of)."
        if reg else f"{account_id} ({who}).",
        f"Window {ws:%Y-%m-%d %H:%M} to {as_of:%Y-%m-%d %H:%M} ({window_days} d): {facts['window_txn_count']} txns, "
        f"{facts['window_trade_count']} trades, in {_usd(float(facts['window_in_usd']))}, "
        f"out {_usd(float(facts['window_out_usd']))} (out/in {facts['window_out_in_ratio']}).",
        f"Baseline ({base_days:.1f} days before the window): {_usd(float(facts['baseline_monthly_in_usd']))} in per "
        f"30 d, {facts['baseline_trade_count']} trades; window inflow is {facts['inflow_vs_baseline']}x baseline"
        + (f", {facts['inflow_vs_income']}x declared income annualised." if facts["inflow_vs_income"] != -1 else "."),
        f"Fiat deposits in window: {facts['window_fiat_deposits']} ({facts['near_threshold_deposits']} at "
        f"9,000-9,999.99 USD, {facts['over_threshold_deposits']} at >= 10,000; longest escalating run "
        f"{facts['escalating_deposit_run']}); {facts['fiat_to_crypto_out_72h_share']:.2%} withdrawn as crypto "
        "within 72 h.",
    ]
    if withdrawals:
        top = max(by_address.items(), key=lambda kv: kv[1], default=None)
        text = (f"Withdrawals in window: {len(withdrawals)}; crypto {_usd(round(crypto_total, 2))} to "
                f"{len(by_address)} address(es), {facts['withdrawal_new_address_share']:.2%} to addresses never "
                f"used before the window, {facts['withdrawal_exchange_share']:.2%} to exchange-labelled addresses")
        if top:
            text += f", top address {top[0]} {facts['withdrawal_top_address_share']:.2%}"
        if largest is not None:
            text += (f". Largest withdrawal {largest.txn_id} {_usd(round(largest.usd, 2))} at "
                     f"{largest.ts:%Y-%m-%d %H:%M} = {facts['largest_withdrawal_balance_share']:.2%} of the "
                     f"{_usd(round(largest.held_before, 2))} held just before")
        parts.append(text + ".")
    else:
        parts.append("No withdrawals in the window.")
    logins_text = f"Logins: {facts['new_devices_window']} new device(s) in window"
    new_devices = sorted((v[0], k) for k, v in logins.devices.items() if v[0] >= ws)
    if new_devices:
        logins_text += " (" + ", ".join(f"{d} first seen {t:%Y-%m-%d %H:%M}" for t, d in new_devices) + ")"
    logins_text += f", new countries {', '.join(new_countries) or 'none'}"
    if logins.security_window:
        logins_text += "; security events " + ", ".join(
            f"{ev} x{n} (first {t:%Y-%m-%d %H:%M})" for ev, (n, t) in sorted(logins.security_window.items()))
    else:
        logins_text += "; no security events"
    if facts["new_device_before_withdrawal"]:
        logins_text += "; a new-device login came within 72 h before a withdrawal"
    parts.append(logins_text + ".")
    parts.append(f"P2P: {facts['p2p_orders_window']} orders in window, {facts['p2p_disputes_window']} disputed or "
                 f"charged back, {facts['p2p_third_party_window']} paid by a third party; "
                 f"{facts['p2p_completed_total']} completed over the account's life.")
    if prior:
        shown = ", ".join(f"{a} ({r}, {t:%Y-%m-%d})" for a, t, r in prior[:5])
        parts.append(f"Prior alerts: {len(prior)}: {shown}" + (" ..." if len(prior) > 5 else "") + ".")
    else:
        parts.append("Prior alerts: none.")
    return " ".join(parts)
