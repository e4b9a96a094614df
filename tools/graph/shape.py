"""flow_shape: the AMLSim-style pattern around an account in the alert window.

- forward_share_72h: of what came in during the window, how much went out again within 72 h
  (first in, first out; trades with itself are not movements).
- intermediaries_to_common_sink: of the account's receivers, the most that forwarded (within 72 h
  of receiving) to one common entity other than the account: scatter-gather.
- layer_depth / layer_width: a forward walk from the account's window outflows, every hop within
  72 h of the first; a layer is the set of exchange accounts at one hop that received from the
  previous layer and sent on at least half of it, and it takes two or more such accounts to be a
  layer (one account is a link or the sink). Depth counts such layers in a row, width is the
  smallest of them: stack (2 layers of 3+), scatter-gather (1 layer of 5+).
- bipartite_pairs: the largest complete block of senders x receivers (2+ each) that contains the
  account as a sender, counted as pairs; 0 when none.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

from tools import flowcache
from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.graph.common import day, forwarded_within, norm_entity, resolve_as_of, usd, window
from tools.graph.walk import Walk, walk

SPAN_H = 72
ROWS_SQL = """SELECT direction, counterparty, ts, amount_usd FROM flows
WHERE entity = $a AND counterparty <> entity AND ts BETWEEN $s AND $e"""
SENDERS_SQL = """(SELECT DISTINCT {i} AS k, counterparty FROM flows
WHERE entity = $r{i} AND direction = 'in' AND counterparty <> entity AND ts BETWEEN $s AND $e)"""
COLUMNS = ["pattern", "layer", "entities", "usd", "detail"]


def flow_shape(
    db: Database,
    ledger: EvidenceLedger,
    account_id: str,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
) -> Evidence:
    """The shape of money around the account in the alert window (the `window_days` before `as_of`,
    default the latest alert): pass-through (share of inflow sent on within 72 h), scatter-gather
    (receivers forwarding to one common sink), stack (layers of accounts forwarding within 72 h:
    depth and narrowest width) and bipartite blocks (senders who each pay each receiver). Rows
    name the entities of each pattern found with USD.
    """
    acct = norm_entity(account_id)
    ref = resolve_as_of(db, acct, as_of)
    start, end = window(ref, window_days)
    rows = _window_rows(db, acct, start, end + dt.timedelta(hours=SPAN_H))
    ins = [(ts, amt) for d, _, ts, amt in rows if d == "in" and ts <= end]
    outs = [(ts, amt) for d, _, ts, amt in rows if d == "out"]
    inflow = sum(a for _, a in ins)
    fwd_share = round(min(1.0, forwarded_within(ins, outs, SPAN_H) / inflow), 6) if inflow > 0 else 0.0

    w = walk(db, acct, "out", 4, start, end + dt.timedelta(hours=SPAN_H), span_hours=SPAN_H,
             hop1_range=(start, end), cap_per_hop=30, cap_per_node=30)
    sink, inter = _common_sink(w)
    layers = _layers(w)
    pairs, senders, receivers = _bipartite(db, w, start, end)

    facts = {
        "forward_share_72h": fwd_share,
        "intermediaries_to_common_sink": len(inter),
        "layer_depth": len(layers),
        "layer_width": min((len(x) for x in layers), default=0),
        "bipartite_pairs": pairs,
    }
    out_rows: list[list] = [["pass_through", 0, acct, inflow, f"{fwd_share:.1%} of window inflow out within 72 h"]]
    if sink:
        out_rows.append(["common_sink", 2, sink, sum(w.edges[(i, sink)].usd for i in inter),
                         f"via {len(inter)} intermediaries: {', '.join(inter)}"])
    for k, layer in enumerate(layers, 1):
        out_rows.append(["layer", k, ", ".join(layer), sum(w.nodes[n].usd for n in layer),
                         f"{len(layer)} accounts forwarding >= 50% within {SPAN_H} h"])
    if pairs:
        out_rows.append(["bipartite", 1, ", ".join(senders) + " => " + ", ".join(receivers), 0.0,
                         f"{len(senders)} senders x {len(receivers)} receivers"])
    summary = (f"{acct} from {day(start)} to {day(end)}: {usd(inflow)} in, {fwd_share:.1%} sent on within 72 h; "
               + (f"{len(inter)} receivers forwarded to common sink {sink}; " if sink else "no common sink; ")
               + (f"{len(layers)} forwarding layers (narrowest {facts['layer_width']} accounts); " if layers
                  else "no forwarding layers of accounts; ")
               + (f"bipartite block {len(senders)}x{len(receivers)} ({', '.join(receivers)})." if pairs
                  else "no bipartite block."))
    return ledger.record("flow_shape", {"account_id": acct, "as_of": ref, "window_days": window_days},
                         query=ROWS_SQL, columns=COLUMNS, rows=out_rows, facts=facts, summary=summary,
                         elapsed_ms=w.elapsed_ms)


def _window_rows(db: Database, acct: str, lo: dt.datetime, hi: dt.datetime) -> list[tuple]:
    """ROWS_SQL's rows: from the flow cache when the account's flows are in it."""
    cached = flowcache.flows_of(db, acct)
    if cached is None:
        return db.execute(ROWS_SQL, {"a": acct, "s": lo, "e": hi}).rows
    return [(r.direction, r.counterparty, r.ts, r.amount_usd) for r in flowcache.movements(cached, acct, lo, hi)]


def _common_sink(w: Walk) -> tuple[str | None, list[str]]:
    """The entity (not the account) fed by the most of the account's direct receivers."""
    first = {n.id for n in w.nodes.values() if n.hop == 1}
    fed: dict[str, set[str]] = defaultdict(set)
    for (src, dst), e in w.edges.items():
        if src in first and dst != w.root and dst != src and e.hop == 2:
            fed[dst].add(src)
    if not fed:
        return None, []
    sink = max(fed, key=lambda s: (len(fed[s]), sum(w.edges[(i, s)].usd for i in fed[s]), s))
    return sink, sorted(fed[sink])


def _layers(w: Walk) -> list[list[str]]:
    """Consecutive hops of accounts that each forward at least half of what they received."""
    got: dict[str, float] = defaultdict(float)
    sent: dict[str, float] = defaultdict(float)
    for (src, dst), e in w.edges.items():
        if w.nodes.get(src) and w.nodes.get(dst) and w.nodes[dst].hop == w.nodes[src].hop + 1:
            got[dst] += e.usd
            sent[src] += e.usd
    layers: list[list[str]] = []
    prev = {w.root}
    for hop in range(1, 5):
        layer = sorted(n.id for n in w.nodes.values()
                       if n.hop == hop and n.is_account and got[n.id] > 0 and sent[n.id] >= 0.5 * got[n.id]
                       and any((p, n.id) in w.edges for p in prev))
        if len(layer) < 2:
            break
        layers.append(layer)
        prev = set(layer)
    return layers


def _bipartite(db: Database, w: Walk, start: dt.datetime, end: dt.datetime) -> tuple[int, list[str], list[str]]:
    """Largest senders x receivers block (2+ x 2+) with the account among the senders."""
    receivers = sorted(n.id for n in w.nodes.values() if n.hop == 1 and n.is_account
                       and (w.root, n.id) in w.edges and w.edges[(w.root, n.id)].first_ts <= end)[:20]
    if len(receivers) < 2:
        return 0, [], []
    pays: dict[str, set[str]] = defaultdict(set)
    cached = flowcache.cache_of(db).flows(db, receivers)
    for r in receivers:
        for f in flowcache.movements(cached[r] or (), r, start, end):
            if f.direction == "in":
                pays[f.counterparty].add(r)
    busy = [r for r in receivers if cached[r] is None]
    if busy:  # one statement: a UNION ALL of point look-ups, one per receiver (each pruned by the zone maps)
        sql = "\nUNION ALL\n".join(SENDERS_SQL.format(i=i) for i in range(len(busy)))
        params: dict[str, object] = {"s": start, "e": end, **{f"r{i}": r for i, r in enumerate(busy)}}
        for k, s in db.execute(sql, params).rows:
            pays[s].add(busy[k])
    others = sorted((s for s in pays if s != w.root and len(pays[s]) >= 2), key=lambda s: (-len(pays[s]), s))[:12]
    best: tuple[int, list[str], list[str]] = (0, [], [])
    mine = pays.get(w.root, set())
    for k in range(1, len(others) + 1):
        for group in itertools.combinations(others, k):
            common = set(mine).intersection(*(pays[s] for s in group))
            if len(common) >= 2 and (k + 1) * len(common) > best[0]:
                best = ((k + 1) * len(common), sorted([w.root, *group]), sorted(common))
    return best
