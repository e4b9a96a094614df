"""cycles: funds that leave the account and come back to it within the window through 1-4 other
accounts (2-5 internal movements: "round-tripping via 2-4 internal hops" counts the accounts
between, so A -> B -> C -> D -> E -> A is a 4-intermediary cycle). Only movements between accounts
(internal transfers, P2P) are followed.

A forward walk from the account inside the window (time-ordered, top-N per hop) extracts the small
subgraph; the cycles are the simple paths in it that return to the account, checked again for time
order along the whole path (each hop has a movement at or after the earliest possible arrival).
The USD that came back is the smallest edge on the cycle; its share is that over the first edge.
"""

from __future__ import annotations

import datetime as dt

from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.graph.common import day, norm_entity, resolve_as_of, usd, window
from tools.graph.walk import Edge, Walk, walk, walk_sql

INTERNAL_KINDS = ("internal_transfer", "p2p_trade")
COLUMNS = ["path", "hops", "out_usd", "returned_usd", "return_share", "start_ts", "end_ts", "txn_ids"]


def cycles(
    db: Database,
    ledger: EvidenceLedger,
    account_id: str,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
    max_hops: int = 4,
) -> Evidence:
    """Round trips: paths through 1 to `max_hops` (at most 4) other accounts that start at the
    account and return to it inside the alert window (the `window_days` before `as_of`, default the latest
    alert), each movement at or after the previous one. Rows: the path, USD sent on the first hop,
    USD that can have come back (smallest hop), that share, start and end time, transaction ids.
    Facts: cycle_count, cycle_return_share (the largest share).
    """
    acct = norm_entity(account_id)
    ref = resolve_as_of(db, acct, as_of)
    start, end = window(ref, window_days)
    hops = max(1, min(4, max_hops))
    w = walk(db, acct, "out", hops + 1, start, end, cap_per_hop=25, cap_per_node=25, kinds=INTERNAL_KINDS)
    found = find_cycles(w, hops + 1)
    facts = {"cycle_count": len(found),
             "cycle_return_share": round(max((c["return_share"] for c in found), default=0.0), 6)}
    rows = [[c[k] for k in COLUMNS] for c in found]
    args = {"account_id": acct, "as_of": ref, "window_days": window_days, "max_hops": hops}
    if found:
        c = found[0]
        summary = (f"{len(found)} cycles return funds to {acct} from {day(start)} to {day(end)}. Largest share: "
                   f"{c['path']} sent {usd(c['out_usd'])} starting {day(c['start_ts'])} and up to "
                   f"{usd(c['returned_usd'])} ({c['return_share']:.1%}) came back by {day(c['end_ts'])} "
                   f"(txns {c['txn_ids']}).")
    else:
        summary = (f"No funds left {acct} and returned through up to {hops} other accounts from {day(start)} to {day(end)} "
                   f"({len(w.nodes) - 1} entities examined).")
    return ledger.record("cycles", args, query=walk_sql("forward over internal movements in the window"), columns=COLUMNS,
                         rows=rows, facts=facts, summary=summary, elapsed_ms=w.elapsed_ms)


def find_cycles(w: Walk, max_hops: int) -> list[dict]:
    """Simple, time-ordered cycles through the walk's root, largest return share first."""
    out_edges: dict[str, list[Edge]] = {}
    for e in w.edges.values():
        out_edges.setdefault(e.src, []).append(e)
    root = w.root
    found: list[dict] = []

    def extend(path: list[Edge], t: dt.datetime) -> None:
        node = path[-1].dst
        if node == root:
            if len(path) >= 2:
                found.append(_describe(path))
            return
        if len(path) >= max_hops:
            return
        on_path = {e.src for e in path}
        for e in out_edges.get(node, []):
            if e.dst in on_path and e.dst != root:
                continue
            if e.last_ts < t:
                continue
            extend([*path, e], max(t, e.first_ts))

    for first in out_edges.get(root, []):
        extend([first], first.first_ts)
    found.sort(key=lambda c: (-c["return_share"], c["hops"], c["path"]))
    return found


def _describe(path: list[Edge]) -> dict:
    back = min(e.usd for e in path)
    share = min(1.0, back / path[0].usd) if path[0].usd > 0 else 0.0
    return {"path": " -> ".join([path[0].src] + [e.dst for e in path]), "hops": len(path), "out_usd": path[0].usd,
            "returned_usd": back, "return_share": round(share, 6), "start_ts": path[0].first_ts,
            "end_ts": path[-1].last_ts, "txn_ids": ";".join([path[0].txn_ids[0], path[-1].txn_ids[0]])}
