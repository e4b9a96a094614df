"""The answer to a planned question, written from the evidence itself, every sentence citing it.

Why templates rather than the model's prose: a 1.5B model's free text invents numbers
(docs/backends.md), and an investigator needs the exact amounts, dates and ids. Each tool has a composer that
picks what the question asked for (senders for "who funded", receivers for "where did it go") and
copies values from the evidence rows. A negative finding is written as one: it names the tool that
ran, the entity and the period, and cites the evidence that came back empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agent.chat.catalog import Call
from tools.evidence import Evidence

TOP = 5


def usd(x: Any) -> str:
    return f"{float(x or 0):,.2f} USD"


def _day(x: Any) -> str:
    return str(x or "")[:10]


def _rows(ev: Evidence) -> list[dict[str, Any]]:
    return [dict(zip(ev.columns, r, strict=False)) for r in ev.rows]


def _period(ev: Evidence) -> str:
    """The window the tool looked at, from its own arguments."""
    a = ev.args
    if a.get("start") and a.get("end"):
        return f"from {_day(a['start'])} to {_day(a['end'])}"
    if a.get("as_of") and a.get("window_days"):
        import datetime as dt

        end = dt.datetime.fromisoformat(str(a["as_of"]))
        return f"from {end - dt.timedelta(days=float(a['window_days'])):%Y-%m-%d} to {end:%Y-%m-%d}"
    if a.get("since") and a.get("until"):
        return f"from {_day(a['since'])} to {_day(a['until'])}"
    return "over the data"


def _cite(ev: Evidence) -> str:
    return f"[{ev.id}]"


def _counterparties(call: Call, ev: Evidence) -> list[str]:
    c, rows, span = _cite(ev), _rows(ev), _period(ev)
    acct = call.target
    out = []
    ways = ["in", "out"] if (call.direction or "both") == "both" else [call.direction]
    for way in ways:
        mine = sorted((r for r in rows if (r[f"{way}_txns"] or 0) > 0), key=lambda r: -float(r[f"{way}_usd"] or 0))
        if not mine:
            who = "sent money to" if way == "in" else "received money from"
            out.append(f"No counterparty {who} {acct} {span}: counterparties ran for {acct} and found none {c}.")
            continue
        # the tool's own totals cover every counterparty; the rows are capped
        m = re.search(r"(\d+) senders \(([\d,.]+) USD in\)" if way == "in" else r"(\d+) receivers \(([\d,.]+) USD out\)",
                      ev.summary)
        n, total = (int(m.group(1)), float(m.group(2).replace(",", ""))) if m else (
            len(mine), sum(float(r[f"{way}_usd"] or 0) for r in mine))
        head = (f"{acct} received {usd(total)} from {n} sender(s) {span} {c}. Senders:" if way == "in" else
                f"{acct} sent {usd(total)} to {n} receiver(s) {span} {c}. Receivers:")
        items = [f"{r['counterparty']} {usd(r[f'{way}_usd'])} in {r[f'{way}_txns']} txn(s), "
                 f"{_day(r['first_ts'])} to {_day(r['last_ts'])}" + (f", {r['label']}" if r.get("label") else "")
                 + (", an exchange account" if r.get("is_account") else "") for r in mine[:TOP]]
        more = f"; and {n - TOP} more" if n > TOP else ""
        out.append(f"{head} " + "; ".join(items) + more + f" {c}.")
    labelled = [r for r in rows if r.get("label")]
    if labelled:
        out.append("Labelled counterparties: " + "; ".join(f"{r['counterparty']}: {r['label']}" for r in labelled[:TOP])
                   + f" {c}.")
    return out


def _payments(call: Call, ev: Evidence) -> list[str]:
    c, f, span, acct = _cite(ev), ev.facts, _period(ev), call.target
    rows = _rows(ev)
    out = []
    if call.order == "recent":
        for way in ("in", "out"):
            if f"{way}_count" in f:
                out.append(f"{f[f'{way}_count']} payment(s) {'into' if way == 'in' else 'out of'} {acct} {span} "
                           f"totalling {usd(f[f'{way}_usd'])} {c}.")
        if not rows:
            return [*out, f"No payment for {acct} {span}: payments ran for {acct} and found none {c}."]
        return [*out, "The latest: " + "; ".join(
            f"{r['txn_id']} {str(r['ts'])[:19]} {r['direction']} {usd(r['amount_usd'])} ({r['kind']}, "
            f"{'from' if r['direction'] == 'in' else 'to'} {r['counterparty']})" for r in rows[:8]) + f" {c}."]
    for way in ("in", "out"):
        if f"{way}_count" not in f:
            continue
        word = "into" if way == "in" else "out of"
        if not f[f"{way}_count"]:
            out.append(f"No payment {word} {acct} {span}: payments ran for {acct} and found none {c}.")
            continue
        mine = [r for r in rows if r["direction"] == way]
        top = mine[0] if mine else None
        text = f"{f[f'{way}_count']} payment(s) {word} {acct} {span} totalling {usd(f[f'{way}_usd'])} {c}."
        if top:
            text += (f" The largest was {top['txn_id']} of {usd(top['amount_usd'])} on {str(top['ts'])[:19]} "
                     f"({top['kind']}, {top['asset']}, {'from' if way == 'in' else 'to'} {top['counterparty']}) {c}.")
            others = mine[1:4]
            if others:
                text += " Next: " + "; ".join(f"{r['txn_id']} {usd(r['amount_usd'])} on {_day(r['ts'])}"
                                              for r in others) + f" {c}."
        out.append(text)
    return out


def _exposure(call: Call, ev: Evidence) -> list[str]:
    c, rows = _cite(ev), _rows(ev)
    if not rows:
        return [f"No path from {call.target} to a sanctioned, mixer or scam address within "
                f"{ev.args.get('max_hops', 4)} hops {_period(ev)}: exposure ran for {call.target} and found none {c}."]
    out = []
    for r in rows[:TOP]:
        way = "sent funds that reached" if r["direction"] == "sent_to" else "received funds that came from"
        out.append(f"{call.target} {way} {r['category']} address {r['address']} ({r['list']}) at hop {r['hops']}, "
                   f"{usd(r['reaching_usd'])}, first hop {r['first_hop_txn_ids']} on {str(r['first_hop_ts'])[:19]} {c}.")
    shares = {k: ev.facts.get(f"{k}_share") for k in ("sanctioned", "mixer", "scam")}
    if any(shares.values()):
        out.append("Share of its crypto flow " + _period(ev) + ": " + ", ".join(
            f"{k} {float(v):.1%}" for k, v in shares.items() if v) + f" {c}.")
    return out


def _screen(call: Call, ev: Evidence) -> list[str]:
    c, rows = _cite(ev), _rows(ev)
    if not rows:
        return [f"{call.target} is not on any labelled list: screen ran for it and found no hit {c}."]
    return [f"{call.target} is listed as {r['category']} on {r['list_name']} (source {r['source']}, snapshot "
            f"{_day(r['snapshot_date'])}" + (f", entity {r['entity_name']}" if r.get("entity_name") else "") + f") {c}."
            for r in rows[:TOP]]


def _screen_counterparties(call: Call, ev: Evidence) -> list[str]:
    c, rows, span = _cite(ev), _rows(ev), _period(ev)
    adverse = [r for r in rows if r.get("category") not in ("exchange", "defi", None, "")]
    if not adverse:
        extra = ""
        if rows:
            extra = " Labelled but not adverse: " + "; ".join(f"{r['address']} ({r['category']}, {r['list_name']})"
                                                           for r in rows[:TOP]) + "."
        return [f"None of the external addresses {call.target} dealt with {span} is on a sanctions or adverse list: "
                f"screen_counterparties ran for {call.target} and found no adverse hit {c}.{extra}"]
    return [f"{call.target} {'sent to' if r['direction'] == 'out' else 'received from'} {r['address']}, listed as "
            f"{r['category']} on {r['list_name']} (snapshot {_day(r['snapshot_date'])}): {usd(r['usd'])} in "
            f"{r['txns']} txn(s), {_day(r['first_ts'])} to {_day(r['last_ts'])} {c}." for r in adverse[:TOP]]


def _alerts(call: Call, ev: Evidence) -> list[str]:
    c, rows = _cite(ev), _rows(ev)
    if not rows:
        return [f"No alert on record for {call.target}: alerts ran for it and found none {c}."]
    items = [f"{r['alert_id']} ({r['rule_id']}, raised {str(r['created_at'])[:19]}, {r['status']})" for r in rows[:10]]
    return [f"{call.target} has {len(rows)} alert(s): " + "; ".join(items) + f" {c}."]


def _p2p(call: Call, ev: Evidence) -> list[str]:
    c, f, rows = _cite(ev), ev.facts, _rows(ev)
    if not f.get("orders"):
        return [f"No P2P order for {call.target} {_period(ev)}: p2p_orders ran for it and found none {c}."]
    text = (f"{call.target} had {f['orders']} P2P order(s) {_period(ev)}: {f['chargebacks']} charged back, "
            f"{f['disputed']} disputed, {f['third_party_paid']} paid by a third party {c}.")
    flagged = [r for r in rows if r["status"] in ("chargeback", "disputed")]
    if flagged:
        text += " " + "; ".join(f"{r['order_id']} {r['status']} {usd(r['amount_usd'])} on {_day(r['ts'])} "
                                f"({r['role']}, with {r['counterparty']}, {r['payment_method']})"
                                for r in flagged[:8]) + f" {c}."
    return [text]


def _summary_sentences(call: Call, ev: Evidence, limit: int = 4) -> list[str]:
    """The tool's own summary, sentence by sentence, each citing it (profile, trace, clusters, ...)."""
    from agent.verifier import split_sentences

    c = _cite(ev)
    return [s.rstrip(".") + f" {c}." for s in split_sentences(ev.summary)[:limit] if s.strip()]


def _trace(call: Call, ev: Evidence) -> list[str]:
    c, rows = _cite(ev), _rows(ev)
    if not rows:
        return [f"No movement {call.direction or 'out'} of {call.target} within {call.hops or 2} hops {_period(ev)}: "
                f"trace ran for it and found none {c}."]
    out = _summary_sentences(call, ev, 2)
    items = [f"hop {r['hop']} {r['src']} -> {r['dst']} {usd(r['amount_usd'])} in {r['txns']} txn(s) "
             f"{_day(r['first_ts'])}" + (f" ({r['label']})" if r.get("label") else "") for r in rows[:6]]
    out.append("Edges: " + "; ".join(items) + f" {c}.")
    return out


def _clusters(call: Call, ev: Evidence) -> list[str]:
    c, rows = _cite(ev), _rows(ev)
    others = [r for r in rows if r.get("relation") != "self"]
    if not others:
        return [f"No other account shares a device or an IP with {call.target}: clusters ran for it and found none "
                f"{c}."]
    out = _summary_sentences(call, ev, 2)
    out.append("Linked accounts: " + "; ".join(f"{r['account_id']} ({r['relation']} via {r['shared_via']})"
                                              for r in others[:8]) + f" {c}.")
    return out


def _cycles(call: Call, ev: Evidence) -> list[str]:
    if not ev.rows:
        return [f"No funds left {call.target} and came back {_period(ev)}: cycles ran for it and found none "
                f"{_cite(ev)}."]
    return _summary_sentences(call, ev, 3)


COMPOSERS: dict[str, Callable[[Call, Evidence], list[str]]] = {
    "counterparties": _counterparties, "payments": _payments, "exposure": _exposure, "screen": _screen,
    "screen_counterparties": _screen_counterparties, "alerts": _alerts, "p2p_orders": _p2p, "trace": _trace,
    "clusters": _clusters, "cycles": _cycles, "profile": lambda call, ev: _summary_sentences(call, ev, 12),
}


def compose(results: list[tuple[Call, Evidence]]) -> str:
    """The answer: per call, its sentences (an error says what failed, citing the failed call)."""
    sentences: list[str] = []
    for call, ev in results:
        if ev.error:
            sentences.append(f"{call.tool} could not run for {call.target}: {ev.error} [{ev.id}].")
            continue
        fn = COMPOSERS.get(call.tool, _summary_sentences)
        sentences += fn(call, ev)
    return "\n".join(sentences)
