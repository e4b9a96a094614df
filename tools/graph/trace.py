"""trace: follow funds forward (where did they go) or backward (where did they come from).

Hops cross every kind of movement in `flows`: internal transfers and P2P between accounts,
deposits and withdrawals between accounts and external addresses or banks, and on-chain
`chain_transfers` between external addresses. Expansion is `tools.graph.walk.walk` (DuckDB point
look-ups hop by hop, time-ordered, top-N by USD per hop); the result is the small subgraph as edge
rows, plus the `Walk` itself for `tools.graph.picture`.
"""

from __future__ import annotations

import datetime as dt

from tools.db import Database
from tools.errors import InputInvalid
from tools.evidence import Evidence, EvidenceLedger
from tools.graph.common import day, norm_entity, resolve_as_of, usd, window
from tools.graph.walk import Walk, walk, walk_sql

COLUMNS = ["hop", "src", "dst", "amount_usd", "txns", "first_ts", "last_ts", "assets", "kinds", "label", "txn_ids"]
FIAT_KINDS = ("fiat_deposit", "fiat_withdrawal")
AFTER_DAYS = 7


def node_kind(w: Walk, node_id: str) -> str:
    """account, bank (external fiat counterparty) or address (external crypto counterparty)."""
    n = w.nodes.get(node_id)
    if n is not None and n.is_account:
        return "account"
    for e in w.edges.values():
        if node_id in (e.src, e.dst) and any(k in FIAT_KINDS for k in e.kinds.split(",")):
            return "bank"
    return "address"


def trace_walk(
    db: Database,
    entity: str,
    direction: str = "out",
    max_hops: int = 3,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    min_usd: float = 0.0,
    asset: str | None = None,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
    max_nodes_per_hop: int = 15,
) -> Walk:
    """The traced subgraph without recording it (for pictures and other tools)."""
    if direction not in ("in", "out", "both"):
        raise InputInvalid(f"direction must be in, out or both, not {direction!r}")
    if not 1 <= max_hops <= 6:
        raise InputInvalid(f"hops must be between 1 and 6, not {max_hops}")
    root = norm_entity(entity)
    ref = resolve_as_of(db, root, as_of)
    lo = since if since is not None else window(ref, window_days)[0]
    # Funds move on after an alert fires; a week past it shows where they went without dragging in
    # months of unrelated later activity on a historical alert.
    hi = until if until is not None else ref + dt.timedelta(days=AFTER_DAYS)
    kwargs = {"min_usd": min_usd, "asset": asset, "cap_per_hop": max_nodes_per_hop, "cap_per_node": max_nodes_per_hop}
    dirs = ["out", "in"] if direction == "both" else [direction]
    result: Walk | None = None
    for d in dirs:
        w = walk(db, root, d, max_hops, lo, hi, **kwargs)
        if result is None:
            result = w
        else:
            result.merge(w)
    assert result is not None
    result.direction = direction
    return result


def trace_with_graph(
    db: Database,
    ledger: EvidenceLedger,
    entity: str,
    direction: str = "out",
    max_hops: int = 3,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    min_usd: float = 0.0,
    asset: str | None = None,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
    max_nodes_per_hop: int = 15,
) -> tuple[Evidence, Walk]:
    """`trace`, also returning the subgraph so a caller can draw it."""
    w = trace_walk(db, entity, direction, max_hops, since, until, min_usd, asset, as_of, window_days,
                   max_nodes_per_hop)
    args = {"entity": w.root, "direction": direction, "max_hops": max_hops, "since": since, "until": until,
            "min_usd": min_usd, "asset": asset, "as_of": as_of, "window_days": window_days}
    edges = w.edge_list()
    rows = []
    for e in edges:
        labelled = [w.nodes[x].label for x in (e.dst, e.src) if x in w.nodes and w.nodes[x].label]
        lab = labelled[0] if labelled else None
        rows.append([e.hop, e.src, e.dst, e.usd, e.n, e.first_ts, e.last_ts, e.assets, e.kinds,
                     f"{lab.category} ({lab.list_name})" if lab else "", ";".join(e.txn_ids)])
    ev = ledger.record("trace", args, query=walk_sql({"out": "forward", "in": "backward"}.get(direction, "forward and backward")
                                     + " trace over flows"),
                       columns=COLUMNS, rows=rows, summary=_summary(w, edges, max_hops, max_nodes_per_hop),
                       elapsed_ms=w.elapsed_ms)
    return ev, w


def trace(
    db: Database,
    ledger: EvidenceLedger,
    entity: str,
    direction: str = "out",
    max_hops: int = 3,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    min_usd: float = 0.0,
    asset: str | None = None,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
    max_nodes_per_hop: int = 15,
) -> Evidence:
    """Trace funds from an account or address: 'out' = where they went, 'in' = where they came from,
    'both'. Follows internal transfers, deposits, withdrawals and on-chain transfers up to `max_hops`
    (1-6), each hop at or after the previous one (forward) or before it (backward), from `since`
    (default: 30 days before `as_of`, the account's latest alert) to `until` (default: 7 days
    after it). `min_usd` drops smaller
    movements, `asset` keeps one asset. Keeps the `max_nodes_per_hop` largest counterparties per hop.
    Rows are aggregated edges (src -> dst in money-flow order) with USD, dates and transaction ids;
    the summary names labelled risky addresses reached.
    """
    return trace_with_graph(db, ledger, entity, direction, max_hops, since, until, min_usd, asset, as_of,
                            window_days, max_nodes_per_hop)[0]


def _summary(w: Walk, edges: list, max_hops: int, cap: int) -> str:
    way = {"out": "Forward", "in": "Backward", "both": "Forward and backward"}[w.direction]
    if not edges:
        return f"{way} trace from {w.root}: no movements found within {max_hops} hops and the filters."
    kinds: dict[str, int] = {}
    for nid in w.nodes:
        if nid != w.root:
            k = node_kind(w, nid)
            kinds[k] = kinds.get(k, 0) + 1
    names = {"account": ("account", "accounts"), "bank": ("bank", "banks"),
             "address": ("external address", "external addresses")}
    counts = ", ".join(f"{v} {names[k][v != 1]}" for k, v in sorted(kinds.items()))
    parts = [f"{way} trace from {w.root} over {max_hops} hops: {len(w.nodes) - 1} entities ({counts}) "
             f"and {len(edges)} edges."]
    risky = sorted((n for n in w.nodes.values() if n.label and n.label.risky), key=lambda n: (n.hop, n.id))
    if risky:
        parts.append("Labelled risky: " + "; ".join(
            f"{n.id} ({n.label.category}, {n.label.list_name}) at hop {n.hop}" for n in risky[:5] if n.label) + ".")
    top = sorted(edges, key=lambda e: -e.usd)[:3]
    parts.append("Largest: " + "; ".join(
        f"{e.src} -> {e.dst} {usd(e.usd)} in {e.n} txns {day(e.first_ts)} to {day(e.last_ts)}" for e in top) + ".")
    if w.pruned_nodes:
        parts.append(f"{w.pruned_nodes} smaller counterparties beyond the {cap} largest per hop were not followed.")
    return " ".join(parts)
