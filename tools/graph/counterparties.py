"""counterparties: who the account paid and was paid by in the alert window, and how new they are.

One statement over the account's own `flows` rows (its window rows, and when each window
counterparty was first seen before the window), one on `addresses` (and one on `accounts` only for
P2P counterparties, whose account sides the contract does not fix); everything else is
arithmetic on the account's own rows, so it stays in the tens of milliseconds at 10M transactions.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter, defaultdict
from typing import Any

from tools import flowcache
from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.graph.common import classify_accounts, day, labels_of, norm_entity, resolve_as_of, usd, window

FLOWS_SQL = """WITH r AS MATERIALIZED (
    SELECT counterparty, direction, ts, amount_usd, kind, txn_id FROM flows
    WHERE entity = $a AND counterparty <> entity AND ts <= $e),
w AS (SELECT * FROM r WHERE ts >= $s)
SELECT 'window' AS part, counterparty, direction, ts, amount_usd, kind, txn_id FROM w
UNION ALL
SELECT 'before', counterparty, direction, min(ts), NULL, NULL, NULL FROM r
WHERE ts < $s AND counterparty IN (SELECT counterparty FROM w) GROUP BY counterparty, direction"""
COLUMNS = ["counterparty", "is_account", "label", "in_usd", "in_txns", "out_usd", "out_txns", "first_ts", "last_ts",
           "first_seen", "kinds"]


def _window_and_before(db: Database, acct: str, start: dt.datetime, end: dt.datetime
                       ) -> tuple[list[tuple], dict[str, dict[str, dt.datetime]], float]:
    """The window rows (counterparty, direction, ts, usd, kind, txn) by time and, for each window
    counterparty, when it was first seen before the window per direction: FLOWS_SQL, or the same
    from the flow cache when the account's flows are in it."""
    t0 = time.perf_counter()
    before: dict[str, dict[str, dt.datetime]] = defaultdict(dict)
    cached = flowcache.flows_of(db, acct)
    if cached is None:
        res = db.execute(FLOWS_SQL, {"a": acct, "s": start, "e": end})  # one scan of the account's rows
        window_rows = [r[1:] for r in res.rows if r[0] == "window"]
        for _part, cp, direction, first, *_ in (r for r in res.rows if r[0] == "before"):
            before[cp][direction] = first
    else:
        mine = [r for r in cached if flowcache.moved(r, acct) and r.ts is not None and r.ts <= end]
        window_rows = [(r.counterparty, r.direction, r.ts, r.amount_usd, r.kind, r.txn_id) for r in mine
                       if r.ts >= start]
        seen = {r[0] for r in window_rows}
        for r in mine:
            if r.ts < start and r.counterparty in seen:
                first = before[r.counterparty].get(r.direction)
                before[r.counterparty][r.direction] = r.ts if first is None else min(first, r.ts)
    rows = sorted(window_rows, key=lambda r: (r[2], r[5]))
    return rows, before, (time.perf_counter() - t0) * 1000


def counterparties(
    db: Database,
    ledger: EvidenceLedger,
    account_id: str,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
    limit: int = 50,
) -> Evidence:
    """Everyone the account sent funds to or received funds from in the alert window (the
    `window_days` before `as_of`, default the account's latest alert): per counterparty USD and
    transaction counts in and out, first and last dates in the window, when it was first seen,
    whether it is an exchange account and its screening label. Facts: distinct senders/receivers,
    most distinct accounts in any 7 days, share of new and of recurring counterparties, and how
    uniform the internal-transfer amounts are (1 = identical amounts, typical of scripted fan-in/out).
    """
    acct = norm_entity(account_id)
    ref = resolve_as_of(db, acct, as_of)
    start, end = window(ref, window_days)
    rows, before, elapsed = _window_and_before(db, acct, start, end)
    per: dict[str, dict[str, Any]] = {}
    for cp, direction, ts, amount, kind, _txn in rows:
        r = per.setdefault(cp, {"in_usd": 0.0, "in_n": 0, "out_usd": 0.0, "out_n": 0, "first": ts, "last": ts,
                                "kinds": set(), "dirs": set()})
        r[f"{direction}_usd"] += amount
        r[f"{direction}_n"] += 1
        r["first"], r["last"] = min(r["first"], ts), max(r["last"], ts)
        r["kinds"].add(kind)
        r["dirs"].add(direction)
    cps = sorted(per)
    accts = classify_accounts(db, [((cp, acct) if d == "in" else (acct, cp)) + (kind,)
                                   for cp, d, _ts, _amt, kind, _txn in rows]) - {acct}
    labels = labels_of(db, [c for c in cps if c not in accts])

    senders = [c for c in cps if per[c]["in_n"]]
    receivers = [c for c in cps if per[c]["out_n"]]
    new = [c for c in cps if c not in before]
    recurring = [c for c in cps if any(d in before[c] for d in per[c]["dirs"])]
    facts = {
        "in_counterparties_window": len(senders),
        "out_counterparties_window": len(receivers),
        "in_account_senders_7d": _max_distinct_7d([(ts, cp) for cp, d, ts, *_ in rows if d == "in" and cp in accts]),
        "out_account_receivers_7d": _max_distinct_7d([(ts, cp) for cp, d, ts, *_ in rows
                                                      if d == "out" and cp in accts]),
        "new_counterparty_share": round(len(new) / len(cps), 6) if cps else 0.0,
        "amount_uniformity": _uniformity(rows),
        "recurring_counterparty_share": round(len(recurring) / len(cps), 6) if cps else 0.0,
    }
    ranked = sorted(cps, key=lambda c: (-(per[c]["in_usd"] + per[c]["out_usd"]), c))
    out_rows = []
    for c in ranked[:limit]:
        r = per[c]
        lab = labels.get(c)
        first_seen = min([*before[c].values(), r["first"]])
        out_rows.append([c, c in accts, f"{lab.category} ({lab.list_name})" if lab else "", r["in_usd"], r["in_n"],
                         r["out_usd"], r["out_n"], r["first"], r["last"], first_seen, ",".join(sorted(r["kinds"]))])
    summary = _summary(acct, start, end, per, senders, receivers, new, ranked, labels)
    if len(ranked) > limit:
        summary += f" Listing the {limit} largest of {len(ranked)} counterparties."
    return ledger.record("counterparties", {"account_id": acct, "as_of": ref, "window_days": window_days},
                         query=FLOWS_SQL, columns=COLUMNS, rows=out_rows, facts=facts, summary=summary,
                         elapsed_ms=elapsed)


def _max_distinct_7d(events: list[tuple[dt.datetime, str]]) -> int:
    """Most distinct counterparties within any 7-day span (sliding over the events)."""
    events.sort()
    best, lo = 0, 0
    counts: Counter[str] = Counter()
    span = dt.timedelta(days=7)
    for ts, cp in events:
        counts[cp] += 1
        while events[lo][0] <= ts - span:
            old = events[lo][1]
            counts[old] -= 1
            if counts[old] == 0:
                del counts[old]
            lo += 1
        best = max(best, len(counts))
    return best


def _uniformity(rows: list[tuple]) -> float:
    """1 - coefficient of variation of internal-transfer amounts, for the more uniform direction
    (fan-in receives identical amounts, fan-out sends them); 0 with fewer than two transfers."""
    best = 0.0
    for direction in ("in", "out"):
        amounts = [r[3] for r in rows if r[1] == direction and r[4] == "internal_transfer"]
        if len(amounts) < 2:
            continue
        mean = statistics.fmean(amounts)
        if mean <= 0:
            continue
        cv = statistics.pstdev(amounts) / mean
        best = max(best, min(1.0, max(0.0, 1.0 - cv)))
    return round(best, 6)


def _summary(acct: str, start: dt.datetime, end: dt.datetime, per: dict, senders: list[str], receivers: list[str],
             new: list[str], ranked: list[str], labels: dict) -> str:
    if not per:
        return f"{acct} had no counterparties from {day(start)} to {day(end)}."
    tin = sum(per[c]["in_usd"] for c in senders)
    tout = sum(per[c]["out_usd"] for c in receivers)
    top = "; ".join(
        f"{c}: in {usd(per[c]['in_usd'])} ({per[c]['in_n']}), out {usd(per[c]['out_usd'])} ({per[c]['out_n']}), "
        f"{day(per[c]['first'])} to {day(per[c]['last'])}" for c in ranked[:3])
    text = (f"{acct} from {day(start)} to {day(end)}: {len(senders)} senders ({usd(tin)} in), "
            f"{len(receivers)} receivers ({usd(tout)} out), {len(new)} of {len(per)} counterparties new. Top: {top}.")
    risky = [f"{c} ({lab.category}, {lab.list_name})" for c, lab in labels.items() if lab.risky]
    if risky:
        text += " Labelled risky counterparties: " + ", ".join(risky) + "."
    return text
