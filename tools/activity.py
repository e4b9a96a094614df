"""Record look-ups an investigator asks for in chat: an account's alerts, its largest payments and
totals, its P2P orders, one alert or one transaction.

Why separate from the graph tools: those measure patterns in an alert window; these answer "show me
the rows" questions ("the largest payment into ACC-1 in March", "the chargebacks of ACC-2") over any
period, exactly and with the SQL that produced them, so an answer can cite them and a reviewer can
re-run them. Customer-written text (memos, P2P chat, alert descriptions) is left out of the rows a
model or an answer reads; the investigator can see it with /sql.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from tools.db import Database
from tools.errors import NotFound
from tools.evidence import Evidence, EvidenceLedger
from tools.graph.common import has_table, norm_entity, usd

Direction = Literal["in", "out", "both"]

ALERTS_SQL = ("SELECT alert_id, created_at, rule_id, status, txn_ids FROM alerts WHERE account_id = $account "
              "ORDER BY created_at")
ALERT_SQL = "SELECT alert_id, account_id, created_at, rule_id, status, txn_ids FROM alerts WHERE alert_id = $alert"
TXN_SQL = ("SELECT txn_id, ts, kind, asset, amount, amount_usd, src, dst, chain, tx_hash FROM transactions "
           "WHERE txn_id = $txn")
PAYMENTS_SQL = """
SELECT txn_id, ts, CASE WHEN dst = $account THEN 'in' ELSE 'out' END AS direction, kind, asset, amount_usd,
       CASE WHEN dst = $account THEN src ELSE dst END AS counterparty
FROM transactions
WHERE (dst = $account OR src = $account) AND src IS DISTINCT FROM dst AND ts >= $start AND ts <= $end"""
P2P_SQL = """
SELECT order_id, ts, CASE WHEN buyer = $account THEN 'buyer' ELSE 'seller' END AS role,
       CASE WHEN buyer = $account THEN seller ELSE buyer END AS counterparty, asset, amount_usd, payment_method,
       status, third_party_payer
FROM p2p_orders WHERE (buyer = $account OR seller = $account) AND ts >= $start AND ts <= $end ORDER BY ts"""


def _span(start: dt.datetime, end: dt.datetime) -> str:
    return f"from {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S}"


def account_alerts(db: Database, ledger: EvidenceLedger, account_id: str) -> Evidence:
    """Every alert raised on the account (id, date, rule, status, the transactions that fired it)."""
    acct = norm_entity(account_id)
    res = db.execute(ALERTS_SQL, {"account": acct})
    rows = [list(r) for r in res.rows]
    if rows:
        listed = "; ".join(f"{r[0]} ({r[2]}, {r[1]:%Y-%m-%d}, {r[3]})" for r in rows[:10])
        summary = f"{acct} has {len(rows)} alert(s): {listed}."
    else:
        summary = f"No alert on record for {acct}."
    return ledger.record("alerts", {"account_id": acct}, query=ALERTS_SQL, columns=res.columns, rows=rows,
                         facts={"alert_count": len(rows)}, summary=summary, elapsed_ms=res.elapsed_ms)


def alert_detail(db: Database, ledger: EvidenceLedger, alert_id: str) -> Evidence:
    """One alert: its account, date, rule, status and the transactions that fired it."""
    res = db.execute(ALERT_SQL, {"alert": alert_id.strip()})
    if not res.rows:
        raise NotFound(f"no alert {alert_id!r} in the workspace")
    r = res.rows[0]
    summary = f"Alert {r[0]} on {r[1]} raised {r[2]:%Y-%m-%d %H:%M:%S} by rule {r[3]}, status {r[4]}."
    if r[5]:
        summary += f" Transactions that fired it: {r[5]}."
    return ledger.record("alert", {"alert_id": r[0]}, query=ALERT_SQL, columns=res.columns, rows=[list(r)],
                         summary=summary, elapsed_ms=res.elapsed_ms)


def transaction_detail(db: Database, ledger: EvidenceLedger, txn_id: str) -> Evidence:
    """One transaction: when, kind, asset, amount, USD value, source and destination."""
    res = db.execute(TXN_SQL, {"txn": txn_id.strip()})
    if not res.rows:
        raise NotFound(f"no transaction {txn_id!r} in the workspace")
    r = res.rows[0]
    summary = (f"Transaction {r[0]} at {r[1]:%Y-%m-%d %H:%M:%S}: {r[2]} of {r[4]:g} {r[3]} ({usd(r[5])}) "
               f"from {r[6]} to {r[7]}.")
    return ledger.record("transaction", {"txn_id": r[0]}, query=TXN_SQL, columns=res.columns, rows=[list(r)],
                         summary=summary, elapsed_ms=res.elapsed_ms)


def payments(db: Database, ledger: EvidenceLedger, account_id: str, start: dt.datetime, end: dt.datetime,
             direction: Direction = "both", limit: int = 10, order: Literal["amount", "recent"] = "amount") -> Evidence:
    """Money in and out of the account between `start` and `end` (trades on its own book excluded):
    counts and USD totals each way, and `limit` payments: the largest first, or the latest first."""
    acct = norm_entity(account_id)
    res = db.execute(PAYMENTS_SQL, {"account": acct, "start": start, "end": end})
    rows = [list(r) for r in res.rows if direction == "both" or r[2] == direction]
    facts: dict[str, float | int] = {}
    parts = []
    for way in ("in", "out") if direction == "both" else (direction,):
        mine = [r for r in rows if r[2] == way]
        total = round(sum(float(r[5] or 0) for r in mine), 2)
        facts |= {f"{way}_count": len(mine), f"{way}_usd": total}
        if mine:
            top = max(mine, key=lambda r: (float(r[5] or 0), r[0]))
            facts[f"largest_{way}_usd"] = float(top[5])
            word = "received" if way == "in" else "sent"
            parts.append(f"{len(mine)} payment(s) {way} totalling {usd(total)}; the largest {word} was {top[0]} "
                         f"of {usd(float(top[5]))} on {top[1]:%Y-%m-%d %H:%M:%S} ({top[3]}, "
                         f"{'from' if way == 'in' else 'to'} {top[6]})")
        else:
            parts.append(f"no payment {way}")
    if order == "recent":
        rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
    else:
        rows.sort(key=lambda r: (-float(r[5] or 0), r[0]))
    summary = f"{acct} {_span(start, end)}: " + "; ".join(parts) + "."
    return ledger.record("payments", {"account_id": acct, "start": start, "end": end, "direction": direction,
                                      "order": order},
                         query=PAYMENTS_SQL, columns=res.columns, rows=rows[:limit], facts=facts, summary=summary,
                         elapsed_ms=res.elapsed_ms)


def p2p_orders(db: Database, ledger: EvidenceLedger, account_id: str, start: dt.datetime, end: dt.datetime,
               limit: int = 20) -> Evidence:
    """The account's P2P orders between `start` and `end` (as buyer or seller): status, counterparty,
    payment method, third-party payers; disputed and charged-back orders listed first."""
    acct = norm_entity(account_id)
    if not has_table(db, "p2p_orders"):
        return ledger.record("p2p_orders", {"account_id": acct}, summary="The workspace has no P2P orders table.")
    res = db.execute(P2P_SQL, {"account": acct, "start": start, "end": end})
    rows = [list(r) for r in res.rows]
    disputed = [r for r in rows if r[7] == "disputed"]
    charged = [r for r in rows if r[7] == "chargeback"]
    third = [r for r in rows if r[8]]
    facts = {"orders": len(rows), "disputed": len(disputed), "chargebacks": len(charged),
             "third_party_paid": len(third)}
    summary = (f"{acct} {_span(start, end)}: {len(rows)} P2P order(s), {len(charged)} charged back, "
               f"{len(disputed)} disputed, {len(third)} paid by a third party.")
    flagged = charged + disputed
    if flagged:
        summary += " " + "; ".join(f"{r[0]} {r[7]} {usd(float(r[5]))} on {r[1]:%Y-%m-%d} with {r[3]}"
                                   for r in flagged[:8]) + "."
    ordered = flagged + [r for r in rows if r not in flagged]
    return ledger.record("p2p_orders", {"account_id": acct, "start": start, "end": end}, query=P2P_SQL,
                         columns=res.columns, rows=ordered[:limit], facts=facts, summary=summary,
                         elapsed_ms=res.elapsed_ms)
