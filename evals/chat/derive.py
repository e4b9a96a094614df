"""Write evals/chat/questions.jsonl: investigator questions over the committed sample, each with the tools
that can answer it and the facts a right answer contains, derived here by SQL over the workspace (never by
running the planner or the chat).

Conventions the facts follow (the same as the tools and /case): without a period, analytics questions look
at the alert window (the 30 days up to the account's latest alert); record look-ups (largest payment,
totals, P2P orders, alerts) cover the whole history. Amounts are compared without thousands separators.

    python -m evals.chat.derive [WORKSPACE.duckdb]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import duckdb

OUT = Path(__file__).with_name("questions.jsonl")


class Sample:
    """SQL over the workspace for the expected facts."""

    def __init__(self, path: str) -> None:
        self.c = duckdb.connect(path, read_only=True)

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        return self.c.execute(sql, list(params)).fetchall()

    def one(self, sql: str, *params: Any) -> Any:
        r = self.rows(sql, *params)
        assert r, sql
        return r[0]

    def anchor(self, acct: str) -> dt.datetime:
        alert = self.one("SELECT max(created_at) FROM alerts WHERE account_id = ?", acct)[0]
        return alert or self.one("SELECT max(ts) FROM flows WHERE entity = ?", acct)[0]

    def senders(self, acct: str, start: dt.datetime, end: dt.datetime) -> list[str]:
        return [r[0] for r in self.rows("SELECT src, sum(amount_usd) u FROM transactions WHERE dst = ? AND src <> dst "
                                        "AND ts BETWEEN ? AND ? GROUP BY 1 ORDER BY u DESC LIMIT 3", acct, start, end)]

    def receivers(self, acct: str, start: dt.datetime, end: dt.datetime) -> list[str]:
        return [r[0] for r in self.rows("SELECT dst, sum(amount_usd) u FROM transactions WHERE src = ? AND src <> dst "
                                        "AND ts BETWEEN ? AND ? GROUP BY 1 ORDER BY u DESC LIMIT 3", acct, start, end)]

    def largest(self, acct: str, way: str, start: dt.datetime | None = None, end: dt.datetime | None = None) -> tuple:
        col = "dst" if way == "in" else "src"
        start, end = start or dt.datetime(2000, 1, 1), end or dt.datetime(2999, 1, 1)
        return self.one(f"SELECT txn_id, amount_usd FROM transactions WHERE {col} = ? AND src <> dst AND ts BETWEEN ? "
                        "AND ? ORDER BY amount_usd DESC, txn_id LIMIT 1", acct, start, end)

    def total(self, acct: str, way: str, start: dt.datetime, end: dt.datetime) -> float:
        col = "dst" if way == "in" else "src"
        return self.one(f"SELECT round(sum(amount_usd), 2) FROM transactions WHERE {col} = ? AND src <> dst AND ts "
                        "BETWEEN ? AND ?", acct, start, end)[0]

    def listed_withdrawal(self, acct: str, category: str) -> tuple:
        return self.one("SELECT t.dst, t.txn_id, t.amount_usd FROM transactions t JOIN addresses a ON (a.address_norm = "
                        "lower(t.dst) OR a.address = t.dst) WHERE t.src = ? AND a.category = ? ORDER BY t.ts LIMIT 1", acct, category)

    def device_sharers(self, acct: str, end: dt.datetime) -> list[str]:
        return [r[0] for r in self.rows(
            "SELECT DISTINCT l2.account_id FROM logins l1 JOIN logins l2 ON l1.device_id = l2.device_id AND "
            "l2.account_id <> l1.account_id WHERE l1.account_id = ? AND l1.ts <= ? AND l2.ts <= ? ORDER BY 1",
            acct, end, end)]

    def p2p_flagged(self, acct: str, status: str) -> list[str]:
        return [r[0] for r in self.rows("SELECT order_id FROM p2p_orders WHERE (buyer = ? OR seller = ?) AND status = ? "
                                        "ORDER BY ts", acct, acct, status)]

    def alerts_of(self, acct: str) -> list[str]:
        return [r[0] for r in self.rows("SELECT alert_id FROM alerts WHERE account_id = ? ORDER BY created_at", acct)]

    def account(self, acct: str) -> tuple:
        return self.one("SELECT kind, country, kyc_level, occupation FROM accounts WHERE account_id = ?", acct)

    def unlisted_withdrawal_address(self) -> str:
        return self.one("SELECT t.dst FROM transactions t WHERE t.kind = 'crypto_withdrawal' AND lower(t.dst) NOT IN "
                        "(SELECT lower(address) FROM addresses) ORDER BY t.txn_id LIMIT 1")[0]


def month_span(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The first and the last second of a calendar month."""
    first = dt.datetime(year, month, 1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(seconds=1)


def amount(x: float) -> str:
    return f"{x:.2f}"


def build(s: Sample) -> list[dict[str, Any]]:
    q: list[dict[str, Any]] = []

    def add(qid: str, question: str, tools: list[str], facts: list[str], *, split: str = "dev",
            expect: str = "found", after: list[str] | None = None) -> None:
        q.append({"id": qid, "question": question, "expected_tools": tools, "facts": facts, "expect": expect,
                  "split": split, **({"after": after} if after else {})})

    # --- ACC-000491: funded by a bank transfer, withdrew to an OFAC-listed bitcoin address ---------
    a1 = "ACC-000491"
    t1 = s.anchor(a1)
    w1 = (t1 - dt.timedelta(days=30), t1)
    sanc_addr, sanc_txn, sanc_usd = s.listed_withdrawal(a1, "sanctioned")
    add("funded-30d", f"who funded {a1} in the last 30 days, and is any of its counterparties sanctioned?",
        ["counterparties", "payments", "screen_counterparties", "exposure"], [*s.senders(a1, *w1)[:1], sanc_addr])
    add("counterparties", f"show the counterparties of account {a1}", ["counterparties"],
        [*s.senders(a1, *w1)[:1], *s.receivers(a1, *w1)[:2]])
    add("where-went", f"Where did the money from {a1} end up?", ["counterparties", "trace", "payments"],
        [sanc_addr], split="heldout")
    add("screen-ofac-btc", f"Screen {sanc_addr} please", ["screen"], [sanc_addr, "OFAC"])
    add("sanctions-exposure", f"Does {a1} have any sanctions exposure?", ["exposure", "screen_counterparties"],
        [sanc_addr, sanc_txn])
    add("alerts-491", f"Any alerts on {a1}?", ["alerts", "profile"], s.alerts_of(a1))
    add("txn-lookup", f"What is transaction {sanc_txn}?", ["transaction"], [sanc_addr, amount(sanc_usd)],
        split="heldout")
    add("followup-alerts", "and has it been alerted on before?", ["alerts", "profile"], s.alerts_of(a1),
        after=[f"show the counterparties of account {a1}"], split="heldout")
    add("trace-2hops", f"trace {a1} two hops forward", ["trace"], [sanc_addr])
    big_in = s.largest(a1, "in")
    add("largest-in-491", f"What's the biggest deposit {a1} ever received?", ["payments"],
        [big_in[0], amount(big_in[1])])

    # --- ACC-000509: withdrew to a sanctioned mixer contract ------------------------------------
    a2 = "ACC-000509"
    mix_addr, mix_txn, mix_usd = s.listed_withdrawal(a2, "mixer")
    add("mixer-exposure", f"is {a2} exposed to mixers?", ["exposure", "screen_counterparties"], [mix_addr, mix_txn])
    add("mixer-screen", f"check whether {mix_addr} is on any list", ["screen"], [mix_addr, "mixer"],
        split="heldout")
    add("mixer-sent", f"Did {a2} send funds to any flagged wallet?", ["exposure", "screen_counterparties",
                                                                        "counterparties"], [mix_addr], split="heldout")
    add("mixer-trace", f"Follow the funds out of {a2} for 3 hops", ["trace"], [mix_addr])

    # --- ACC-000462 and ACC-001643: other sanctioned withdrawals --------------------------------
    a3 = "ACC-000462"
    addr3, txn3, _ = s.listed_withdrawal(a3, "sanctioned")
    add("screen-cps-462", f"screen all of {a3}'s counterparties against the sanctions lists",
        ["screen_counterparties", "exposure"], [addr3])
    add("tornado-462", f"any tornado cash or other illicit exposure for {a3}?", ["exposure"], [addr3, txn3],
        split="heldout")
    a4 = "ACC-001643"
    addr4, txn4, usd4 = s.listed_withdrawal(a4, "sanctioned")
    add("sanctioned-1643", f"Has {a4} dealt with sanctioned addresses?", ["exposure", "screen_counterparties"],
        [addr4])
    add("screen-evm-ofac", f"is {addr4} sanctioned?", ["screen"], [addr4, "OFAC"], split="heldout")
    add("largest-out-1643", f"largest withdrawal from {a4}?", ["payments"], list(map(str, [s.largest(a4, "out")[0]])))

    # --- shared devices ---------------------------------------------------------------------------
    for qid, acct, text, split in [
            ("devices-745", "ACC-000745", "does {a} share devices with other accounts?", "dev"),
            ("devices-1693", "ACC-001693", "Which other customers logged in from the same device as {a}?", "heldout"),
            ("devices-203", "ACC-000203", "{a}: any linked accounts through shared devices or IPs?", "dev")]:
        add(qid, text.format(a=acct), ["clusters"], s.device_sharers(acct, s.anchor(acct)), split=split)

    # --- P2P ----------------------------------------------------------------------------------------
    a5 = "ACC-001107"
    add("p2p-chargebacks", f"list the P2P chargebacks of {a5}", ["p2p_orders"], s.p2p_flagged(a5, "chargeback"))
    add("p2p-disputes", f"were there any disputed peer-to-peer trades for {a5}?", ["p2p_orders"],
        s.p2p_flagged(a5, "disputed"), split="heldout")
    add("p2p-followup", "and its chargebacks?", ["p2p_orders"], s.p2p_flagged(a5, "chargeback"),
        after=[f"tell me about {a5}"], split="heldout")
    a6 = "ACC-000001"
    add("p2p-many", f"How many chargebacks does {a6} have on P2P orders?", ["p2p_orders"],
        s.p2p_flagged(a6, "chargeback")[:3])

    # --- profiles -----------------------------------------------------------------------------------
    for qid, acct, text, split in [("profile-1107", a5, "Give me a profile of {a}", "dev"),
                                   ("profile-1564", "ACC-001564", "who is the customer behind {a}?", "heldout"),
                                   ("profile-491", a1, "KYC details for {a}", "dev")]:
        kind, country, kyc, occupation = s.account(acct)
        add(qid, text.format(a=acct), ["profile"], [kind, f"KYC {kyc}", country, occupation], split=split)

    # --- alerts ---------------------------------------------------------------------------------------
    al = s.one("SELECT alert_id, account_id, rule_id FROM alerts WHERE alert_id = 'ALT-00013'")
    add("alert-record", "what is ALT-00013 about?", ["alert"], [al[1], al[2]])
    add("alert-account", "Which account does alert ALT-00013 concern, and who is it?", ["alert", "profile"],
        [al[1], al[2]], split="heldout")
    no_alert = s.one("SELECT account_id FROM accounts WHERE account_id NOT IN (SELECT account_id FROM alerts) "
                     "AND account_id IN (SELECT src FROM transactions) ORDER BY account_id LIMIT 1")[0]
    add("alerts-none", f"has {no_alert} ever been flagged by monitoring?", ["alerts"], [], expect="none")
    add("alerts-history", "show me the alert history of ACC-001564", ["alerts"], s.alerts_of("ACC-001564"),
        split="heldout")

    # --- screening negatives and positives -----------------------------------------------------------
    clean = s.unlisted_withdrawal_address()
    add("screen-clean", f"Is {clean} on a blacklist?", ["screen"], [], expect="none")
    add("screen-clean-2", f"run a screening check on {clean}", ["screen"], [], expect="none", split="heldout")
    phish = s.one("SELECT address FROM addresses WHERE category = 'phishing' ORDER BY address LIMIT 1")[0]
    add("screen-phishing", f"what do we know about wallet {phish}?", ["screen"], [phish, "phishing"])

    # --- payments, totals and periods --------------------------------------------------------------
    a7 = "ACC-001564"
    big = s.largest(a7, "in")
    add("largest-in-1564", f"What was the largest payment into {a7}?", ["payments"], [big[0], amount(big[1])])
    march = month_span(2026, 3)
    add("total-out-march", f"how much did {a7} send out in March 2026?", ["payments"],
        [amount(s.total(a7, "out", *march))], split="heldout")
    add("total-in-march", f"total received by {a7} during March", ["payments"], [amount(s.total(a7, "in", *march))])
    a8 = "ACC-000012"
    t8 = s.anchor(a8)
    w8 = (t8 - dt.timedelta(days=30), t8)
    add("senders-012", f"who sent money to {a8}?", ["counterparties", "payments"], s.senders(a8, *w8)[:2])
    add("receivers-012", f"Who were the recipients of {a8}'s outgoing payments?", ["counterparties", "payments"],
        s.receivers(a8, *w8)[:2], split="heldout")
    big8 = s.largest(a8, "out")
    add("largest-out-012", f"top withdrawal by {a8} ever", ["payments"], [big8[0]], split="heldout")
    add("followup-cps", "and its counterparties?", ["counterparties"], s.senders(a8, *w8)[:1],
        after=[f"Any alerts on {a8}?"])
    add("followup-exposure", "Is it exposed to anything risky?", ["exposure"], [sanc_addr],
        after=[f"Give me a profile of {a1}"], split="heldout")
    add("devices-491-none", f"does {a1} share a device or IP with anyone?", ["clusters"], [], expect="none")

    # --- blind: written on 2026-12-06 in new wording over other accounts, scored once as written; the
    # planner's vocabulary was not changed to fit them (docs/chat.md, "the blind split") ------------
    b1 = "ACC-000864"
    tb1 = s.anchor(b1)
    wb1 = (tb1 - dt.timedelta(days=30), tb1)
    sb1, sb1_txn, _ = s.listed_withdrawal(b1, "sanctioned")
    mb1, _, _ = s.listed_withdrawal(b1, "mixer")
    add("b-ofac-touch", f"did {b1} ever touch an OFAC designated wallet?", ["exposure", "screen_counterparties"],
        [sb1], split="blind")
    add("b-mixer-use", f"has customer {b1} been using a crypto mixer", ["exposure", "screen_counterparties"],
        [mb1], split="blind")
    add("b-outflows", f"where has {b1} been sending its funds lately?", ["counterparties", "trace", "payments"],
        s.receivers(b1, *wb1)[:1], split="blind")
    add("b-inflows", f"list the sources of funds for {b1}", ["counterparties", "payments"], s.senders(b1, *wb1)[:1],
        split="blind")
    b2 = "ACC-001248"
    sb2, _, _ = s.listed_withdrawal(b2, "sanctioned")
    add("b-risk-2", f"any red-flag counterparties for {b2}?", ["exposure", "screen_counterparties", "counterparties"],
        [sb2], split="blind")
    add("b-lookup-addr", f"look up {sb2} on our watchlists", ["screen"], [sb2], split="blind")
    add("b-hops", f"follow {b2}'s outgoing money up to 2 hops", ["trace"], [sb2], split="blind")
    b3 = "ACC-000005"
    kind, country, kyc, occupation = s.account(b3)
    add("b-kyc", f"what kind of customer is {b3}? country, KYC tier, job", ["profile"],
        [kind, f"KYC {kyc}", country, occupation], split="blind")
    add("b-alerts", f"list every monitoring alert raised for {b3}", ["alerts", "profile"], s.alerts_of(b3),
        split="blind")
    add("b-follow-exposure", "and does it have any sanctions exposure?", ["exposure", "screen_counterparties"],
        [s.listed_withdrawal(b3, "sanctioned")[0]], after=[f"what kind of customer is {b3}?"], split="blind")
    b4 = "ACC-001432"
    add("b-cb", f"show chargebacks on {b4}'s peer to peer orders", ["p2p_orders"], s.p2p_flagged(b4, "chargeback"),
        split="blind")
    b5 = "ACC-000458"
    add("b-devices", f"which accounts log in from the same phone or computer as {b5}?", ["clusters"],
        s.device_sharers(b5, s.anchor(b5)), split="blind")
    b6 = "ACC-000402"
    add("b-linked", f"is {b6} connected to other users via shared hardware?", ["clusters"],
        s.device_sharers(b6, s.anchor(b6)), split="blind")
    b7 = "ACC-000012"
    bigb = s.largest(b7, "in")
    add("b-biggest-credit", f"what's the single largest incoming transfer {b7} has had", ["payments"],
        [bigb[0], amount(bigb[1])], split="blind")
    month = month_span(tb1.year, tb1.month)
    add("b-total-sent-month", f"total outgoing for {b1} in {month[0]:%B %Y}", ["payments"],
        [amount(s.total(b1, "out", *month))], split="blind")
    alb = s.one("SELECT alert_id, account_id, rule_id FROM alerts WHERE alert_id = 'ALT-00022'")
    add("b-alert-explain", "explain alert ALT-00022 to me", ["alert"], [alb[1], alb[2]], split="blind")
    add("b-clean-addr", f"is the wallet {clean} blacklisted anywhere?", ["screen"], [], expect="none", split="blind")
    add("b-no-alerts", f"was {no_alert} ever alerted?", ["alerts"], [], expect="none", split="blind")
    add("b-txn", f"details of {sb1_txn} please", ["transaction"], [sb1], split="blind")
    add("b-follow-cps", "who are its counterparties?", ["counterparties"], s.senders(b7, *w8)[:1],
        after=[f"what's the single largest incoming transfer {b7} has had"], split="blind")
    return q


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else ".sleuth/sleuth.duckdb"
    questions = build(Sample(path))
    OUT.write_text("".join(json.dumps(x) + "\n" for x in questions), encoding="utf-8")
    print(f"{len(questions)} questions -> {OUT}")


if __name__ == "__main__":
    main()
