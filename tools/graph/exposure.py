"""exposure: how close the account's crypto flows come to labelled risky addresses.

Two walks from the account (`tools.graph.walk`): forward through its crypto withdrawals ("sent
to") and backward through its crypto deposits ("received from"), then on-chain only (`layer =
'chain'`), as chain analytics and the TM-EXPO-03 rule count hops. The account's own hop is limited
to the alert window; later on-chain hops only need to be time-ordered (funds reach a mixer after
they left the account, or left a scam address before they reached it). A walk stops at a risky or
`exchange`-labelled address: beyond a custodial exchange funds are pooled and hops mean nothing.
USD reaching an address is the smallest edge on its path (what can have flowed all the way); the
share divides it by the account's crypto deposits plus withdrawals in the window.
"""

from __future__ import annotations

import datetime as dt

from tools import flowcache
from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.facts import NONE_HOPS
from tools.graph.common import day, norm_entity, resolve_as_of, usd, window
from tools.graph.walk import Walk, walk, walk_sql
from tools.schema import RISKY_CATEGORIES

CRYPTO_KINDS = ("crypto_deposit", "crypto_withdrawal")
SCAM_CATEGORIES = ("scam", "phishing")
GROUPS = {"sanctioned": ("sanctioned",), "mixer": ("mixer",), "scam": SCAM_CATEGORIES}
COLUMNS = ["direction", "hops", "address", "category", "list", "entity_name", "reaching_usd", "path", "first_hop_usd",
           "first_hop_txn_ids", "first_hop_ts"]
FLOW_SQL = """SELECT coalesce(sum(amount_usd), 0) FROM flows
WHERE entity = $a AND ts BETWEEN $s AND $e AND list_contains($kinds, kind)"""


def exposure(
    db: Database,
    ledger: EvidenceLedger,
    account_id: str,
    as_of: dt.datetime | None = None,
    max_hops: int = 4,
    window_days: int = 30,
) -> Evidence:
    """Shortest paths from the account to addresses labelled sanctioned, mixer, scam, phishing,
    darknet or ransomware, within `max_hops` on-chain hops, through funds it sent (withdrawals) and
    funds it received (deposits) in the alert window (the `window_days` before `as_of`, default the
    latest alert). Each row: direction, hop count (1 = direct counterparty), address, category, list,
    USD that can have reached it, the path, and the account's own transactions that start the path.
    Facts: fewest hops and share of window crypto flow per category (99 hops = none found) and the
    number of external senders within 2 hops of a scam or phishing address.
    """
    acct = norm_entity(account_id)
    ref = resolve_as_of(db, acct, as_of)
    start, end = window(ref, window_days)
    kw = {"hop1_kinds": CRYPTO_KINDS, "later_layer": "chain", "hop1_range": (start, end), "cap_per_hop": 100,
          "cap_per_node": 50, "no_expand_categories": (*RISKY_CATEGORIES, "exchange")}
    w_out = walk(db, acct, "out", max_hops, **kw)
    w_in = walk(db, acct, "in", max(max_hops, 3), **kw)
    total = _crypto_total(db, acct, start, end)

    hits = _hits(w_out, "sent_to", max_hops) + _hits(w_in, "received_from", max_hops)
    hits.sort(key=lambda h: (h["hops"], -h["reaching_usd"], h["address"]))
    facts: dict[str, float | int] = {}
    for name, cats in GROUPS.items():
        mine = [h for h in hits if h["category"] in cats]
        facts[f"{name}_min_hops"] = min((h["hops"] for h in mine), default=NONE_HOPS)
        facts[f"{name}_share"] = _share(mine, total)
    facts["scam_linked_senders"] = _scam_linked_senders(w_in)
    facts["risky_min_hops"] = min((h["hops"] for h in hits), default=NONE_HOPS)
    facts = {k: facts[k] for k in ("sanctioned_min_hops", "sanctioned_share", "mixer_min_hops", "mixer_share",
                                   "scam_min_hops", "scam_share", "scam_linked_senders", "risky_min_hops")}
    rows = [[h[c] for c in COLUMNS] for h in hits]
    args = {"account_id": acct, "as_of": ref, "max_hops": max_hops, "window_days": window_days}
    return ledger.record("exposure", args, query=walk_sql("crypto deposits/withdrawals in the window, then chain transfers; both ways"),
                         columns=COLUMNS, rows=rows, facts=facts,
                         summary=_summary(acct, start, end, total, hits, facts, max_hops, w_out, w_in),
                         elapsed_ms=w_out.elapsed_ms + w_in.elapsed_ms)


def _crypto_total(db: Database, acct: str, start: dt.datetime, end: dt.datetime) -> float:
    """FLOW_SQL: the account's crypto deposits and withdrawals in the window, in USD."""
    cached = flowcache.flows_of(db, acct)
    if cached is None:
        return float(db.scalar(FLOW_SQL, {"a": acct, "s": start, "e": end, "kinds": list(CRYPTO_KINDS)}) or 0.0)
    total = 0.0
    for r in flowcache.between(cached, start, end):
        if r.kind in CRYPTO_KINDS and r.amount_usd is not None:
            total += r.amount_usd
    return total


def _hits(w: Walk, label: str, max_hops: int) -> list[dict]:
    """One row per (risky address, direct counterparty of the account): the shortest path through
    that counterparty in the extracted subgraph, and the USD that can have reached it.

    Per counterparty, not per address: eight deposits from eight senders tied to one scam address
    are eight pieces of evidence, at 2 or 3 hops each, not one."""
    succ: dict[str, dict[str, None]] = {}  # node -> successors, in the order their edges were added
    away: set[str] = set()
    for src, dst in w.edges:  # edges point away from the account: money order forward, reversed backward
        u, v = (src, dst) if label == "sent_to" else (dst, src)
        away.update((u, v))
        if w.root not in (u, v):  # paths leave the account out: they run through one counterparty
            succ.setdefault(u, {})[v] = None
    away.discard(w.root)
    risky = {n.id for n in w.nodes.values() if n.hop > 0 and n.label and n.label.risky}
    out = []
    for via in sorted(n.id for n in w.nodes.values() if n.hop == 1):
        if via not in away:
            continue
        dist = shortest_paths(succ, via, max_hops - 1)
        for target in sorted(risky & dist.keys()):
            walked = [w.root, *dist[target]]  # away from the account, in walk order
            money = walked if label == "sent_to" else walked[::-1]
            edges = [w.edges[(a, b)] for a, b in zip(money, money[1:], strict=False)]
            first = edges[0] if label == "sent_to" else edges[-1]
            lab = w.nodes[target].label
            assert lab is not None
            out.append({
                "direction": label, "hops": len(walked) - 1, "address": target, "category": lab.category,
                "list": lab.list_name, "entity_name": lab.entity_name, "reaching_usd": min(e.usd for e in edges),
                "path": " -> ".join(money), "first_hop_usd": first.usd,
                "first_hop_txn_ids": ";".join(first.txn_ids), "first_hop_ts": first.first_ts, "via": via,
            })
    return out


def shortest_paths(succ: dict[str, dict[str, None]], source: str, cutoff: int) -> dict[str, list[str]]:
    """Breadth-first shortest paths from `source`, at most `cutoff` edges long, visiting successors
    in the order their edges were added: networkx's `single_source_shortest_path` path for path
    (where several paths are shortest, the same one; tested against it), without importing
    networkx, which cost every triage worker about 0.1 s of its start."""
    paths = {source: [source]}
    frontier = [source]
    for _ in range(cutoff):
        following = []
        for v in frontier:
            for w in succ.get(v, ()):
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    following.append(w)
        if not following:
            break
        frontier = following
    return paths


def _share(hits: list[dict], total: float) -> float:
    """Share of window crypto flow reaching these hits: per first-hop counterparty and direction the
    largest reaching USD (paths through one counterparty share the same funds), summed."""
    if total <= 0 or not hits:
        return 0.0
    best: dict[tuple[str, str], float] = {}
    for h in hits:
        key = (h["direction"], h["via"])
        best[key] = max(best.get(key, 0.0), h["reaching_usd"])
    return round(min(1.0, sum(best.values()) / total), 6)


def _scam_linked_senders(w_in: Walk) -> int:
    """External senders in the window that are, or received funds within 2 hops from, scam/phishing."""
    feeds: dict[str, set[str]] = {}
    for (src, dst) in w_in.edges:
        feeds.setdefault(dst, set()).add(src)
    count = 0
    for n in w_in.nodes.values():
        if n.hop != 1 or n.is_account:
            continue
        frontier, seen = {n.id}, {n.id}
        found = bool(n.label and n.label.category in SCAM_CATEGORIES)
        for _ in range(2):
            if found:
                break
            frontier = {s for f in frontier for s in feeds.get(f, ()) if s not in seen}
            seen |= frontier
            found = any((lab := w_in.nodes[s].label) and lab.category in SCAM_CATEGORIES
                        for s in frontier if s in w_in.nodes)
        count += found
    return count


def _summary(acct: str, start: dt.datetime, end: dt.datetime, total: float, hits: list[dict], facts: dict,
             max_hops: int, w_out: Walk, w_in: Walk) -> str:
    head = (f"{acct}: crypto deposits and withdrawals {usd(total)} from {day(start)} to {day(end)}; "
            f"checked {len(w_out.nodes) + len(w_in.nodes) - 2} addresses within {max_hops} hops.")
    if not hits:
        return head + " No labelled risky address found."
    parts = []
    for h in hits[:4]:
        way = "sent funds that reached" if h["direction"] == "sent_to" else "received funds from"
        parts.append(f"{way} {h['category']} {h['address']} ({h['list']}) at hop {h['hops']}, up to "
                     f"{usd(h['reaching_usd'])}, via {h['path']} starting {day(h['first_hop_ts'])} "
                     f"(txn {h['first_hop_txn_ids'].split(';')[0]})")
    shares = ", ".join(f"{g} {facts[g + '_share']:.1%}" for g in GROUPS if facts[g + "_min_hops"] != NONE_HOPS)
    more = f" and {len(hits) - 4} more" if len(hits) > 4 else ""
    return head + " It " + "; ".join(parts) + more + (f". Shares of window crypto flow: {shares}." if shares else ".")
