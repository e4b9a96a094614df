"""Shared plumbing of the graph tools: entity spelling, time windows, table presence, labels.

Every graph tool reads the derived `flows` table (one row per side of every transaction and chain
transfer, sorted by entity and ts) and filters it by `entity` first, so DuckDB prunes row groups by
their zone maps instead of scanning. Nothing here formats a user string into SQL: values travel as
`$name` parameters; only constant, code-authored fragments are joined into statements.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tools.account_tables import account_ids
from tools.db import Database
from tools.introspect import small_table, table_columns
from tools.schema import RISKY_CATEGORIES

EVM_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
FAR_PAST = dt.datetime(1970, 1, 1)
FAR_FUTURE = dt.datetime(2999, 12, 31)

def norm_entity(entity: str) -> str:
    """The spelling `flows` uses: EVM addresses lower-cased, everything else as given (trimmed)."""
    e = entity.strip()
    return e.lower() if EVM_RE.match(e) else e


def naive_utc(ts: dt.datetime | dt.date | str | None) -> dt.datetime | None:
    """Timestamps in the workspace are naive UTC; accept aware datetimes, dates and ISO strings too."""
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts.strip().replace("Z", "+00:00"))
    if not isinstance(ts, dt.datetime):
        return dt.datetime(ts.year, ts.month, ts.day)
    if ts.tzinfo is not None:
        return ts.astimezone(dt.UTC).replace(tzinfo=None)
    return ts


def has_table(db: Database, name: str) -> bool:
    """True when the optional table exists (addresses, logins, chain_transfers may be absent)."""
    return bool(table_columns(db, name))


def resolve_as_of(db: Database, entity: str, as_of: dt.datetime | None) -> dt.datetime:
    """The reference time of a question: given, else the entity's latest alert, else its last flow.

    Tools are asked about an alert, so the alert's creation time is the natural "now"; without one
    the last activity keeps a historical workspace meaningful (wall-clock now would see nothing).
    """
    given = naive_utc(as_of)
    if given is not None:
        return given
    if has_table(db, "alerts"):
        ts = db.scalar("SELECT max(created_at) FROM alerts WHERE account_id = $e", {"e": entity})
        if ts is not None:
            return ts
    ts = db.scalar("SELECT max(ts) FROM flows WHERE entity = $e", {"e": entity})
    if ts is not None:
        return ts
    ts = db.scalar("SELECT max(ts) FROM flows")
    return ts if ts is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def window(as_of: dt.datetime, window_days: int) -> tuple[dt.datetime, dt.datetime]:
    """The alert window: the `window_days` days before `as_of`, both ends inclusive."""
    return as_of - dt.timedelta(days=window_days), as_of


def _remembered(db: Database, what: str, entities: set[str],
                fetch: Callable[[list[str]], dict[str, Any]]) -> dict[str, Any]:
    """Per-connection memo of entity look-ups (`fetch` gets the entities not seen yet and returns
    the ones it found). The connection is read-only, so an answer, or its absence, stays true, and
    one case asks several tools about the same counterparties."""
    memo: dict[str, Any] = db.cached(f"{MEMO}{what}", dict)
    todo = sorted(entities - memo.keys())
    if todo:
        found = fetch(todo)
        if len(memo) > MEMO_MAX:
            memo.clear()
        memo.update({e: found.get(e) for e in todo})
    return {e: v for e in entities if (v := memo.get(e)) is not None}


MEMO_MAX = 200_000
MEMO = "graph.memo:"


def accounts_among(db: Database, entities: Iterable[str]) -> set[str]:
    """The entities that are exchange accounts (joined on accounts.account_id, never a prefix)."""
    def fetch(ents: list[str]) -> dict[str, Any]:
        rows = db.execute("SELECT account_id FROM accounts WHERE account_id IN (SELECT unnest($e))", {"e": ents}).rows
        return {r[0]: True for r in rows}

    ents = set(entities)
    if not ents:
        return set()
    every = account_ids(db)
    if every is not None:
        return {e for e in ents if e in every}
    return set(_remembered(db, "accounts", ents, fetch))


@dataclass(frozen=True)
class Label:
    """A screening-list label of an address."""

    category: str
    list_name: str
    entity_name: str | None = None

    @property
    def risky(self) -> bool:
        return self.category in RISKY_CATEGORIES


def labels_of(db: Database, entities: Iterable[str]) -> dict[str, Label]:
    """Labels of the given entities from `addresses` (risky categories first when several)."""
    ents = set(entities)
    if not ents or not has_table(db, "addresses"):
        return {}
    every = _all_labels(db)
    if every is not None:
        return {e: lab for e in ents if (lab := every.get(e)) is not None}

    def fetch(todo: list[str]) -> dict[str, Any]:
        return _read_labels(db, "WHERE {key} IN (SELECT unnest($e))", {"e": todo})

    return _remembered(db, "labels", ents, fetch)


def _all_labels(db: Database) -> dict[str, Label] | None:
    """Every label of a small `addresses` table, shared by a connection and its forks; None if large."""
    return small_table(db, "addresses", lambda: _read_labels(db, "", {}))


def _read_labels(db: Database, where: str, params: dict[str, Any]) -> dict[str, Label]:
    cols = table_columns(db, "addresses")
    list_expr = "coalesce(list_name, source)" if "list_name" in cols else "source"
    name_expr = "entity_name" if "entity_name" in cols else "NULL"
    key = "address_norm" if "address_norm" in cols else "address"
    rows = db.execute(
        f"SELECT {key}, category, {list_expr}, {name_expr} FROM addresses {where.format(key=key)} "
        f"ORDER BY {key}, list_contains($risky, category) DESC, category",
        {**params, "risky": list(RISKY_CATEGORIES)},
    ).rows
    found: dict[str, Label] = {}
    for addr, cat, lst, name in rows:
        found.setdefault(addr, Label(cat, str(lst or ""), name))
    return found


def address_key(db: Database) -> str:
    """The column of `addresses` that matches `flows.entity` spelling."""
    return "address_norm" if "address_norm" in table_columns(db, "addresses") else "address"


def usd(x: float | None) -> str:
    """USD for summaries: exact to the cent, with thousands separators."""
    return f"{(x or 0.0):,.2f} USD"


def day(ts: dt.datetime | None) -> str:
    """A timestamp as it appears in summaries (seconds precision, like the rows)."""
    return ts.isoformat(sep=" ") if ts is not None else "-"


def forwarded_within(inflows: list[tuple[dt.datetime, float]], outflows: list[tuple[dt.datetime, float]],
                     hours: float) -> float:
    """USD of `inflows` sent out again within `hours`: each outflow consumes, oldest first, what
    came in during the `hours` before it and was not yet consumed (first in, first out)."""
    ins = sorted(inflows)
    left = [amt for _, amt in ins]
    span = dt.timedelta(hours=hours)
    total = 0.0
    start = 0
    for t_out, amount in sorted(outflows):
        need = amount
        while start < len(ins) and ins[start][0] < t_out - span:
            start += 1
        i = start
        while need > 1e-9 and i < len(ins) and ins[i][0] <= t_out:
            take = min(need, left[i])
            left[i] -= take
            need -= take
            total += take
            i += 1
    return total


ACCOUNT_ENDS: dict[str, tuple[bool, bool]] = {
    "internal_transfer": (True, True),
    "trade": (True, True),
    "fiat_deposit": (False, True),
    "crypto_deposit": (False, True),
    "fiat_withdrawal": (True, False),
    "crypto_withdrawal": (True, False),
    "chain_transfer": (False, False),
}
"""Which ends (sender, receiver) of a movement are exchange accounts, by kind, as the import
contract defines the kinds (docs/import-format.md; the loader checks the account sides). A P2P trade's
sides are not fixed, so its ends are looked up in `accounts`."""


def classify_accounts(db: Database, edges: Iterable[tuple[str, str, str]]) -> set[str]:
    """Accounts among the ends of (src, dst, kinds) edges: by the contract's kinds where they say,
    else by `accounts.account_id` (one query, only for the ends no kind settles)."""
    known: dict[str, bool] = {}
    ends: set[str] = set()
    for src, dst, kinds in edges:
        ends.update((src, dst))
        for kind in kinds.split(","):
            sides = ACCOUNT_ENDS.get(kind)
            if sides is None:
                continue
            for ent, is_acct in ((src, sides[0]), (dst, sides[1])):
                known[ent] = known.get(ent, False) or is_acct
    unknown = ends - known.keys()
    accts = {e for e, a in known.items() if a}
    return accts | accounts_among(db, unknown)
