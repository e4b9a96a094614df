"""The flows of small entities, fetched once per connection and shared by the tools of a case.

A case reads the same account many times: the walks of exposure (in and out), flow_shape, cycles
and trace, counterparties, flow_shape's window and the profile's totals, each with its own
direction, time range and kinds, and each used to be a DuckDB statement of its own (most of its
cost is planning, not reading). An entity's flows never change under a read-only connection, so
its rows are fetched once (all directions and times, its trades with itself included, in storage
order) and each tool filters them in Python with the same predicates as its SQL. An entity with
more than ENTITY_MAX flows (an exchange hot wallet) is not kept: its tools query DuckDB with their
own filters, and tests check that both paths give the same evidence. The cache lives on the
database instance (`Database.caches`), is shared by a connection and its forks (the gather threads)
and is bounded by CACHE_ROWS rows, least recently used out first.

Entities are fetched set-based: one `entity IN (...)` statement for all the entities a call needs,
in storage order (`ORDER BY rowid`: an IN-list filter over many values is a join, which does not
keep it). A triage batch holds the flows of all its alerts' accounts that way in one statement
(`hold`, agent/bulk.py) before its cases run; they stay held until the batch ends.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

from tools.db import Database

ENTITY_MAX = 2_000
CACHE_ROWS = 100_000  # about 40 MB of Python tuples
FETCH_MAX = 1_000  # entities per IN-list statement
KIND = "flows"  # what a batch holds (tools.db.Held)

COLUMNS = "entity, direction, counterparty, amount_usd, ts, asset, kind, layer, txn_id"
LISTED_SQL = """SELECT {columns} FROM flows WHERE entity IN ({listed}) ORDER BY rowid LIMIT $limit"""
CAPPED_SQL = """(SELECT {columns} FROM flows WHERE entity = $e{i} LIMIT $cap)"""


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
        ENTITY_MAX (query it directly). Kept, held by the batch, or fetched in one statement."""
        wanted = list(dict.fromkeys(entities))
        out: dict[str, tuple[Flow, ...] | None] = {}
        with self._lock:
            for e in wanted:
                if e in self._entries:
                    self._entries.move_to_end(e)
                    out[e] = self._entries[e]
        held = db.held.kind(KIND)
        for e in wanted:
            if e not in out and e in held:
                out[e] = held[e]
        todo = [e for e in wanted if e not in out]
        if todo:
            fetched = fetch(db, todo)
            out.update(fetched)
            self._keep(fetched)
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


def fetch(db: Database, entities: list[str], timeout_s: float | None = None) -> dict[str, tuple[Flow, ...] | None]:
    """The flows of these entities (None for one with more than ENTITY_MAX), in storage order.

    One IN-list statement per FETCH_MAX entities, limited to what they could have if none were
    busy: when a busy one (an exchange hot wallet) fills that, each entity is read up to
    ENTITY_MAX + 1 rows instead (a UNION ALL of point look-ups)."""
    out: dict[str, tuple[Flow, ...] | None] = {}
    for b in range(0, len(entities), FETCH_MAX):
        part = entities[b:b + FETCH_MAX]
        limit = len(part) * (ENTITY_MAX + 1)
        listed = ", ".join(_literal(e) for e in part)
        rows = db.execute(LISTED_SQL.format(columns=COLUMNS, listed=listed), {"limit": limit}, timeout_s).rows
        if len(rows) >= limit:
            sql = "\nUNION ALL\n".join(CAPPED_SQL.format(columns=COLUMNS, i=i) for i in range(len(part)))
            rows = db.execute(sql, {"cap": ENTITY_MAX + 1, **{f"e{i}": e for i, e in enumerate(part)}}, timeout_s).rows
        per: dict[str, list[Flow]] = {}
        for row in rows:
            per.setdefault(row[0], []).append(Flow(*row[1:]))
        for e in part:
            got = per.get(e, [])
            out[e] = tuple(got) if len(got) <= ENTITY_MAX else None
    return out


def _literal(value: str) -> str:
    """A SQL string literal (an IN-list of literals is planned as one filter; the values come from
    the database itself, quoted here all the same)."""
    return "'" + str(value).replace("'", "''") + "'"


def hold(db: Database, entities: Iterable[str], timeout_s: float | None = None) -> None:
    """Hold the flows of a batch's entities until it ends (`release`): its cases take them
    instead of fetching each its own (and the LRU does not push them out)."""
    held = db.held.kind(KIND)
    todo = [e for e in dict.fromkeys(entities) if e not in held]
    if todo:
        db.held.put(KIND, fetch(db, todo, timeout_s))


def cache_of(db: Database) -> FlowCache:
    """The flow cache of this connection's database instance (shared with its forks)."""
    return db.cached(KIND, FlowCache)


def forget(db: Database) -> None:
    """Empty this database's flow cache and what a batch held (tests compare the two paths)."""
    db.forget_cached(KIND)
    db.held.drop(KIND)


def moved(r: Flow, entity: str) -> bool:
    """`counterparty <> entity`: a movement to or from someone else, not a trade with itself."""
    return r.counterparty is not None and r.counterparty != entity


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
