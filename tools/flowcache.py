"""The flows of small entities, fetched once per connection and shared by the tools of a case.

A case reads the same account many times: the walks of exposure (in and out), flow_shape, cycles
and trace, counterparties, flow_shape's window and the profile's totals, each with its own
direction, time range and kinds, and each used to be a DuckDB statement of its own (most of its
cost is planning, not reading). An entity's flows never change under a read-only connection, so
its rows are fetched once (all directions and times, its trades with itself included, in storage
order) and each tool filters them in Python with the same predicates as its SQL. An entity with
more than ENTITY_MAX flows (an exchange hot wallet) is not kept: its tools query DuckDB with their
own filters, and tests check that both paths give the same evidence. The cache is shared by a
connection and its forks (the gather threads) and bounded by CACHE_ROWS rows, least recently used
out first.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

from tools.db import Database

ENTITY_MAX = 2_000
CACHE_ROWS = 100_000  # about 40 MB of Python tuples
BATCH = 50

FETCH_SQL = """(SELECT {i} AS k, direction, counterparty, amount_usd, ts, asset, kind, layer, txn_id FROM flows
WHERE entity = $e{i} LIMIT $cap)"""


class Flow(NamedTuple):
    """One flow row of a cached entity."""

    direction: str
    counterparty: str
    amount_usd: float
    ts: dt.datetime
    asset: str | None
    kind: str | None
    layer: str | None
    txn_id: str


class FlowCache:
    """LRU of entity -> its flows (or None: too many to keep), for one database instance."""

    def __init__(self, max_rows: int = CACHE_ROWS) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[str, tuple[Flow, ...] | None] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def flows(self, db: Database, entities: Iterable[str]) -> dict[str, tuple[Flow, ...] | None]:
        """Each entity's flows (its trades with itself included); None for one with more than
        ENTITY_MAX (query it directly)."""
        wanted = list(dict.fromkeys(entities))
        out: dict[str, tuple[Flow, ...] | None] = {}
        with self._lock:
            for e in wanted:
                if e in self._entries:
                    self._entries.move_to_end(e)
                    out[e] = self._entries[e]
        todo = [e for e in wanted if e not in out]
        for b in range(0, len(todo), BATCH):
            batch = todo[b:b + BATCH]
            params: dict[str, object] = {"cap": ENTITY_MAX + 1}
            params.update({f"e{i}": e for i, e in enumerate(batch)})
            sql = "\nUNION ALL\n".join(FETCH_SQL.format(i=i) for i in range(len(batch)))
            per: dict[int, list[Flow]] = {}
            for row in db.execute(sql, params).rows:
                per.setdefault(row[0], []).append(Flow(*row[1:]))
            for i, e in enumerate(batch):
                rows = per.get(i, [])
                out[e] = tuple(rows) if len(rows) <= ENTITY_MAX else None
            self._keep({e: out[e] for e in batch})
        return out

    def _keep(self, fetched: dict[str, tuple[Flow, ...] | None]) -> None:
        with self._lock:
            for e, rows in fetched.items():
                if e in self._entries:
                    continue
                self._entries[e] = rows
                self._rows += len(rows) if rows else 1
            while self._rows > self.max_rows and self._entries:
                _, old = self._entries.popitem(last=False)
                self._rows -= len(old) if old else 1


_CACHES: weakref.WeakKeyDictionary[Database, FlowCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def moved(r: Flow, entity: str) -> bool:
    """`counterparty <> entity`: a movement to or from someone else, not a trade with itself."""
    return r.counterparty is not None and r.counterparty != entity


def cache_of(db: Database) -> FlowCache:
    """The flow cache of this connection's database instance (shared with its forks)."""
    root = db.root
    with _caches_lock:
        cache = _CACHES.get(root)
        if cache is None:
            cache = _CACHES[root] = FlowCache()
        return cache


def flows_of(db: Database, entity: str) -> tuple[Flow, ...] | None:
    """One entity's cached flows, or None when it has too many to keep."""
    return cache_of(db).flows(db, [entity])[entity]


def between(rows: Iterable[Flow], lo: dt.datetime, hi: dt.datetime) -> Iterable[Flow]:
    """`ts BETWEEN lo AND hi`, in storage order."""
    return (r for r in rows if r.ts is not None and lo <= r.ts <= hi)


def movements(rows: Iterable[Flow], entity: str, lo: dt.datetime, hi: dt.datetime) -> Iterable[Flow]:
    """`counterparty <> entity AND ts BETWEEN lo AND hi`: the entity's movements with others in a
    time range, in storage order."""
    return (r for r in between(rows, lo, hi) if moved(r, entity))


def select(rows: Iterable[Flow], entity: str, direction: str, lo: dt.datetime, hi: dt.datetime, min_usd: float,
           asset: str | None, kinds: frozenset[str] | None, layer: str | None) -> list[tuple]:
    """The rows `walk.RAW_SQL` would return for these filters (NULLs fail every comparison, as in
    SQL), as (counterparty, amount_usd, ts, asset, kind, layer, txn_id), in storage order."""
    out = []
    for r in between(rows, lo, hi):
        if r.direction != direction or r.amount_usd is None or r.amount_usd < min_usd or not moved(r, entity):
            continue
        if (asset is not None and r.asset != asset) or (kinds is not None and r.kind not in kinds) \
                or (layer is not None and r.layer != layer):
            continue
        out.append((r.counterparty, r.amount_usd, r.ts, r.asset, r.kind, r.layer, r.txn_id))
    return out
