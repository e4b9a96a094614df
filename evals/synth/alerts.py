"""Alert descriptions: what the monitoring rule saw, in several wordings, with numbers from the data.

Descriptions never carry the verdict: the same templates serve sar, escalate and close alerts, and
they avoid the label vocabulary (typology and disposition names). About 5% of alerts come from an
unknown vendor rule (`VENDOR-X-17`, ...) with their own wording, so an investigator has to work
from the description and the evidence, not the rule id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evals.synth import constants as K
from evals.synth.constants import HOUR
from evals.synth.ledger import PlantedAlert, TxnRow
from evals.synth.worlds import DEFAULT, WorldParams

DEFAULT_RULE_SET = frozenset((K.STRUCT, K.RAPID, K.EXPO, K.ATO, K.P2P, K.DEV, K.VEL, K.PROF))


def _usd(x: float) -> str:
    return f"{x:,.2f} USD"


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _short(addr: str) -> str:
    return addr if len(addr) <= 16 else f"{addr[:10]}...{addr[-6:]}"


Templates = list[Callable[[dict[str, Any]], str]]

STRUCT: Templates = [
    lambda f: (f"{f['n']} fiat deposits between {f['band_lo']:,.0f} and {f['thr']:,.0f} {f['cur']} within 14 days ({f['first']} to "
               f"{f['last']}), total {_usd(f['total'])}."),
    lambda f: (f"Possible threshold avoidance: {f['n']} cash-in transfers of {_usd(f['min'])} to "
               f"{_usd(f['max'])} each, sum {_usd(f['total'])}, last on {f['last']}."),
    lambda f: f"STRUCT-01 hit: count={f['n']} range=[{f['min']:.0f},{f['max']:.0f}] sum={f['total']:.0f} window=14d",
    lambda f: (f"Customer deposited {_usd(f['total'])} in {f['n']} separate bank transfers just below the "
               f"{f['thr'] / 1000:g}k reporting limit between {f['first']} and {f['last']}."),
]
RAPID: Templates = [
    lambda f: (f"Fiat in {_usd(f['fiat_in'])} followed by crypto out {_usd(f['crypto_out'])} "
               f"({f['pct']:.0f}%) within {f['hours']:.0f} h; {f['cycles']} in-out sequence(s) in the window."),
    lambda f: (f"Rapid movement: {f['pct']:.0f}% of fiat deposits left as {f['asset']} withdrawals within 72 "
               f"hours ({f['cycles']} occurrence(s), {_usd(f['crypto_out'])} out)."),
    lambda f: (f"RAPID-02: in={f['fiat_in']:.0f} out={f['crypto_out']:.0f} ratio={f['pct']:.0f}% "
               f"max_lag={f['hours']:.0f}h n={f['cycles']}"),
    lambda f: (f"Funds deposited by bank transfer were withdrawn on-chain shortly after: "
               f"{_usd(f['crypto_out'])} of {_usd(f['fiat_in'])} in {f['asset']}."),
]


def _hop_text(f: dict[str, Any]) -> str:
    return "direct" if f["hops"] == 1 else f"indirect ({f['hops']} hops)"


EXPO: Templates = [
    lambda f: (f"{'Withdrawal to' if f['direction'] == 'out' else 'Deposit from'} {f['counterparty']} on "
               f"{f['chain']} ({_usd(f['usd'])}): {f['category']} address within {f['hops']} hop(s), "
               f"{f['share']:.1f}% of the traced value."),
    lambda f: (f"Chain analytics: counterparty {_short(f['counterparty'])} has {_hop_text(f)} exposure to a "
               f"{f['category']} entity; {f['direction']}bound {f['asset']} {_usd(f['usd'])}."),
    lambda f: (f"EXPO-03 risk hit: dir={f['direction']} hops={f['hops']} category={f['category']} "
               f"risk_share={f['share']:.1f}% value={f['usd']:.0f} chain={f['chain']}"),
    lambda f: (f"Screening: {f['asset']} transfer {'to' if f['direction'] == 'out' else 'from'} "
               f"{f['counterparty']} linked to a listed {f['category']} address ({_hop_text(f)})."),
]
EXPO_VENDOR_SCORE: Templates = [
    lambda f: (f"Counterparty {f['counterparty']} ({f['chain']}) scored high-risk by the chain analytics "
               f"vendor (score {f['score']}); outbound {_usd(f['linked'])}."),
    lambda f: f"EXPO-03 cluster risk: counterparty={_short(f['counterparty'])} score={f['score']} value={f['linked']:.0f}",
]
ATO: Templates = [
    lambda f: (f"Withdrawal of {_usd(f['usd'])} ({f['asset']}) {f['hours']:.0f} h after a login from a new "
               f"device {f['device']} in {f['country']}."),
    lambda f: (f"Large withdrawal to {_short(f['address'])} following the first login from device "
               f"{f['device']} (IP country {f['country']})."),
    lambda f: f"ATO-04: new_device=1 login_country={f['country']} withdrawal={f['usd']:.0f} lag={f['hours']:.0f}h",
    lambda f: (f"New device {f['device']} logged in from {f['country']}; {_usd(f['usd'])} in {f['asset']} "
               f"withdrawn to {f['address']} within 72 hours."),
]
P2P: Templates = [
    lambda f: (f"{f['disputes']} disputed and {f['chargebacks']} charged-back P2P order(s) out of "
               f"{f['orders']} in the window (account as {f['role']})."),
    lambda f: (f"P2P marketplace: dispute/chargeback raised; {f['third_party']} order(s) paid by a third "
               f"party, {f['orders']} orders in 30 days."),
    lambda f: (f"P2P-05: disputes={f['disputes']} chargebacks={f['chargebacks']} orders={f['orders']} "
               f"third_party={f['third_party']}"),
]
DEV: Templates = [
    lambda f: (f"{'Device ' + f['device'] if f['device'] else 'IP ' + f['ip']} used by {f['n_accounts']} "
               f"accounts: {', '.join(f['accounts'])}."),
    lambda f: (f"IP {f['ip']}{' and device ' + f['device'] if f['device'] else ''} shared by "
               f"{f['n_accounts']} customer accounts in the last 30 days."),
    lambda f: f"DEV-06: shared={f['shared']} ip={f['ip']} accounts={f['n_accounts']}",
]
VEL: Templates = [
    lambda f: (f"{f['counterparties']} distinct counterparties in {f['days']} days ({f['n_in']} incoming "
               f"{_usd(f['in_total'])}, {f['n_out']} outgoing {_usd(f['out_total'])}){_network(f)}."),
    lambda f: (f"Unusual transfer velocity: {f['n_in']} incoming and {f['n_out']} outgoing transfers with "
               f"{f['counterparties']} accounts within 7 days{_network(f)}."),
    lambda f: (f"VEL-07: cp={f['counterparties']} in={f['n_in']}/{f['in_total']:.0f} "
               f"out={f['n_out']}/{f['out_total']:.0f} wallets={f['wallets']} fwd={f['forwarders']} "
               f"onward={f['onward']}{' (single)' if f['forwarders'] >= 2 and f['onward'] == 1 else ''} "
               f"cosend={f['co_senders']} back={f.get('returned_pct', 0):.0f}%"),
    lambda f: (f"Counterparty count above the customer's usual range: {_n(f['counterparties'], 'account')} "
               f"({_n(f['senders'], 'sender')}, {_n(f['recipients'], 'recipient')}), "
               f"{_usd(f['in_total'] + f['out_total'])} moved{_network(f)}."),
]


def _n(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def _network(f: dict[str, Any]) -> str:
    """The network clause of a velocity alert: what the rule saw one hop beyond the account."""
    parts = []
    if f["wallets"]:
        parts.append(f"{_n(f['wallets'], 'external wallet')} on the crypto side")
    if f["recipients"]:
        fwd = f"{_n(f['forwarders'], 'forwarding recipient')} sent funds on within 72 h"
        if f["forwarders"] >= 2 and f["onward"] == 1:
            fwd += ", all to a single onward account"
        elif f["forwarders"]:
            fwd += f" to {_n(f['onward'], 'onward account')}"
        parts.append(fwd)
        if f["co_senders"]:
            parts.append(f"{_n(f['co_senders'], 'co-sender')} paid the same recipients")
    if f.get("returned_pct"):
        parts.append(f"{f['returned_pct']:.0f}% came back to the account")
    return "; " + "; ".join(parts) if parts else ""


PROF: Templates = [
    lambda f: (f"Deposits of {_usd(f['total'])} in the window are {f['total'] / max(f['income'], 1):.1f}x the "
               f"declared yearly income of {_usd(f['income'])}; amounts rising from {_usd(f['first_usd'])} "
               f"to {_usd(f['max'])}."),
    lambda f: (f"Customer profile mismatch: {f['n']} deposits totalling {_usd(f['total'])}, increasing in "
               f"size, against declared income {_usd(f['income'])}."),
    lambda f: f"PROF-08: sum={f['total']:.0f} income={f['income']:.0f} n={f['n']} rising=yes",
]
TEMPLATES: dict[str, Templates] = {K.STRUCT: STRUCT, K.RAPID: RAPID, K.EXPO: EXPO, K.ATO: ATO, K.P2P: P2P,
                                   K.DEV: DEV, K.VEL: VEL, K.PROF: PROF}
VENDOR: dict[str, Templates] = {
    K.STRUCT: [lambda f: f"Vendor model: repeated cash-ins under the reporting limit ({f['n']} credits, "
                         f"{f['min']:.0f}-{f['max']:.0f} USD)."],
    K.RAPID: [lambda f: f"Third-party score {f['score']}/100: in-and-out flow, {f['pct']:.0f}% of credits "
                        f"leave on-chain fast."],
    K.EXPO: [lambda f: f"External risk feed: wallet {_short(f['counterparty'])} flagged ({f['category']}), "
                       f"{_hop_text(f)}."],
    K.ATO: [lambda f: f"Session anomaly score {f['score']}: unfamiliar device and geography before a payout "
                      f"of {f['usd']:.0f} USD."],
    K.P2P: [lambda f: f"Marketplace risk signal: {f['disputes'] + f['chargebacks']} complaint(s) on recent "
                      f"orders."],
    K.DEV: [lambda f: f"Identity graph: {f['n_accounts']} profiles linked by common login fingerprint."],
    K.VEL: [lambda f: f"Network anomaly: {_n(f['senders'], 'sender')} and {_n(f['recipients'], 'recipient')} in a short "
                      f"period (score {f['score']}){_network(f)}."],
    K.PROF: [lambda f: f"Behaviour vs profile deviation score {f['score']}: inflows {f['total']:.0f} USD vs "
                       f"income {f['income']:.0f} USD."],
}


class TransferIndex:
    """The planted internal transfers by sender and by receiver, for velocity alerts' network facts."""

    def __init__(self, txns: list[TxnRow]) -> None:
        self.by_src: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.by_dst: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for r in txns:
            if r[1] == "internal_transfer" and r[5] != r[6]:
                self.by_src[r[5]].append((r[0], r[6]))
                self.by_dst[r[6]].append((r[0], r[5]))


FORWARD_HOURS = 72


def network_facts(subject: str, rows: list[TxnRow], index: TransferIndex) -> dict[str, int]:
    """What a network-aware velocity rule reports beyond the account's own transfers: senders and
    recipients among the flagged transfers, external wallets among its crypto deposits and
    withdrawals; of the recipients, how many sent funds on within 72 h and to how many other
    accounts, and how many other accounts paid the same recipients around the alert week. Computed
    from the planted rows, never the label."""
    own = [r for r in rows if r[1] == "internal_transfer"]
    wallets = {r[5] if r[6] == subject else r[6] for r in rows if r[1] in ("crypto_deposit", "crypto_withdrawal")}
    received: dict[str, int] = {}
    for r in own:
        if r[5] == subject and r[6] != subject:
            received[r[6]] = min(received.get(r[6], r[0]), r[0])
    senders = {r[5] for r in own if r[6] == subject and r[5] != subject}
    onward: dict[str, set[str]] = {}
    for rcpt, t in received.items():
        dsts = {d for ts, d in index.by_src.get(rcpt, []) if t <= ts <= t + FORWARD_HOURS * HOUR
                and d != subject and d not in received}
        if dsts:
            onward[rcpt] = dsts
    paid_to = {d for dsts in onward.values() for d in dsts}
    lo = min(received.values(), default=0) - 7 * 24 * HOUR
    hi = max(received.values(), default=0) + FORWARD_HOURS * HOUR
    co = {s for rcpt in received for ts, s in index.by_dst.get(rcpt, []) if lo <= ts <= hi and s != subject}
    return {"senders": len(senders), "recipients": len(received), "forwarders": len(onward),
            "onward": len(paid_to), "co_senders": len(co), "wallets": len(wallets)}


# Wording of the `generic` worlds: every alert reads the same way, whatever fired it, so the
# typology has to come from the evidence (issue 14).
GENERIC: Templates = [
    lambda f: (f"Unusual transfer pattern on the account: {_n(f['n_rows'], 'flagged transaction')}, "
               f"{_usd(f['rows_usd'])} between {f['first']} and {f['last']}."),
    lambda f: f"Unusual transfer pattern detected (score {f['score']}); {_n(f['n_rows'], 'transaction')} to review.",
    lambda f: f"Unusual transfer pattern: please review the account's activity from {f['first']} to {f['last']}.",
]


def render(alert: PlantedAlert, rows: list[TxnRow], rng: np.random.Generator, subject: str = "",
           index: TransferIndex | None = None, params: WorldParams = DEFAULT) -> tuple[str, str]:
    """Rule id and description for one alert (vendor rule for ~5% of them), in the world's ids and wording."""
    f = dict(alert.facts)
    f["first"] = _day(min(r[0] for r in rows))
    f["last"] = _day(max(r[0] for r in rows))
    f["score"] = int(rng.integers(55, 99))
    f.update(thr=params.threshold, band_lo=0.9 * params.threshold, cur=params.currency, n_rows=len(rows),
             rows_usd=sum(r[4] for r in rows))
    if alert.rule_id == K.VEL:
        f.update(network_facts(subject, rows, index or TransferIndex([])))
    rule = alert.rule_id
    if rng.random() < params.vendor_share:
        tpl = VENDOR[rule]
        rule = K.VENDOR_RULES[int(rng.integers(len(K.VENDOR_RULES)))]
    elif rule == K.EXPO and f.get("listed") is None:
        tpl = EXPO_VENDOR_SCORE
    else:
        tpl = TEMPLATES[rule]
    text = tpl[int(rng.integers(len(tpl)))](f)
    if params.wording == "generic":
        text = GENERIC[int(rng.integers(len(GENERIC)))](f)
    if rule in DEFAULT_RULE_SET:
        rule = params.rule(rule)
    memos = [r[8] for r in rows if r[8] and r[8] not in K.INJECTION_MEMOS]
    if memos and rng.random() < 0.4:
        text += f' Memo on a flagged transaction: "{memos[-1]}".'
    return rule, text
