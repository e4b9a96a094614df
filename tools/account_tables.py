"""An account's rows of the small per-account tables (accounts, logins, P2P sides), held in memory.

The profile reads the account's row, its logins and its P2P counts in one statement that costs
about 5 ms of DuckDB planning for a few dozen rows. When those tables are small
(`tools.introspect.small_table`) they are read once per connection, grouped by account, and the
same facts are computed here with the filters and orders of `tools.profile.ACCOUNT_SQL` (the tests
compare both paths). A larger table, or a workspace whose P2P orders have no `p2p_sides`, keeps the
statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tools.db import Database
from tools.introspect import small_table, table_columns

ACCOUNT_COLUMNS = ("kind", "country", "kyc_level", "registered_at", "occupation", "birth_year",
                   "declared_income_usd", "risk_rating")
DISPUTED = ("disputed", "chargeback")

Login = tuple[str | None, str | None, str | None, dt.datetime, str | None]  # device, country, event, ts, ip
Link = tuple[str, str | None, str | None, dt.datetime]  # account, device, ip, ts
Side = tuple[dt.datetime, str | None, bool]  # ts, status, third-party payer


def account_rows(db: Database) -> dict[str, tuple[Any, ...]] | None:
    """Account id -> its ACCOUNT_COLUMNS (None for a column the workspace lacks), for a small
    accounts table; None when it is too large to hold."""
    def read() -> dict[str, tuple[Any, ...]]:
        cols = table_columns(db, "accounts")
        select = ", ".join(c if c in cols else "NULL" for c in ACCOUNT_COLUMNS)
        rows = db.execute(f"SELECT account_id, {select} FROM accounts WHERE account_id IS NOT NULL").rows
        return {r[0]: r[1:] for r in reversed(rows)}  # the first row of an id wins, as LIMIT 1 would

    return small_table(db, "accounts", read)


def account_ids(db: Database) -> Container[str] | None:
    """The account ids of a small accounts table, for membership tests (the held rows themselves:
    copying 196k ids into a set on every call cost 15 ms at 10M transactions); None when the table
    is too large to hold."""
    return account_rows(db)


@dataclass
class LoginTable:
    """A small logins table by account, with (account, device, ip, ts) by device and by IP on demand."""

    by_account: dict[str, list[Login]]

    @cached_property
    def by_device(self) -> dict[str, list[Link]]:
        return self._index(0)

    @cached_property
    def by_ip(self) -> dict[str, list[Link]]:
        return self._index(4)

    def _index(self, column: int) -> dict[str, list[Link]]:
        out: dict[str, list[Link]] = {}
        for account, rows in self.by_account.items():
            for row in rows:
                if row[column] is not None:
                    out.setdefault(row[column], []).append((account, row[0], row[4], row[3]))
        return out


def logins(db: Database) -> LoginTable | None:
    """The logins table held by account, when small; None when it is too large to hold."""
    def read() -> LoginTable:
        out: dict[str, list[Login]] = {}
        for account, device, country, event, ts, ip in db.execute(
                "SELECT account_id, device_id, country, event, ts, ip FROM logins WHERE ts IS NOT NULL").rows:
            out.setdefault(account, []).append((device, country, event, ts, ip))
        return LoginTable(out)

    return small_table(db, "logins", read)


def _sides(db: Database) -> dict[str, list[Side]] | None:
    def read() -> dict[str, list[Side]]:
        third = "coalesce(third_party_payer, FALSE)" if "third_party_payer" in table_columns(db, "p2p_sides") else "FALSE"
        out: dict[str, list[Side]] = {}
        for account, ts, status, paid_by_other in db.execute(
                f"SELECT account_id, ts, status, {third} FROM p2p_sides WHERE ts IS NOT NULL").rows:
            out.setdefault(account, []).append((ts, status, bool(paid_by_other)))
        return out

    return small_table(db, "p2p_sides", read)


def _nulls_last(value: Any) -> tuple[bool, Any]:
    return (value is None, "" if value is None else value)


def login_groups(logins: list[Login], as_of: dt.datetime, ws: dt.datetime) -> list[tuple[Any, ...]]:
    """LOGINS_SQL from held rows: per device, country and event up to `as_of`, the first time, the
    counts before and from `ws`, and the first time from `ws`; in (device, country, event) order."""
    groups: dict[tuple[str | None, str | None, str | None], list[Any]] = {}
    for device, country, event, ts, _ in logins:
        if ts > as_of:
            continue
        group = groups.setdefault((device, country, event), [ts, 0, 0, None])
        group[0] = min(group[0], ts)
        if ts < ws:
            group[1] += 1
        else:
            group[2] += 1
            group[3] = ts if group[3] is None else min(group[3], ts)
    keys = sorted(groups, key=lambda k: tuple(_nulls_last(v) for v in k))
    return [(*k, *groups[k]) for k in keys]


def p2p_counts(sides: list[Side], as_of: dt.datetime, ws: dt.datetime) -> tuple[int, ...]:
    """P2P_COUNTS from held rows: orders, disputes and third-party payments in the window, completed
    orders up to `as_of`, and orders and disputes before the window."""
    seen = [(ts >= ws, status, third) for ts, status, third in sides if ts <= as_of]
    return (sum(w for w, _, _ in seen), sum(w and s in DISPUTED for w, s, _ in seen),
            sum(w and t for w, _, t in seen), sum(s == "completed" for _, s, _ in seen),
            sum(not w for w, _, _ in seen), sum(not w and s in DISPUTED for w, s, _ in seen))


def held_account(db: Database, account_id: str, as_of: dt.datetime,
                 ws: dt.datetime) -> tuple[dict[str, Any] | None, list[tuple[Any, ...]], tuple[int, ...]] | None:
    """(the account's row, or None if there is no such account; its login groups; its P2P counts),
    all from held tables; None when one of them is too large to hold (query instead)."""
    accounts = account_rows(db)
    held_logins = logins(db) if table_columns(db, "logins") else LoginTable({})
    if table_columns(db, "p2p_sides"):
        sides = _sides(db)
    elif table_columns(db, "p2p_orders"):
        sides = None  # orders without the per-side table: the statement finds them by buyer or seller
    else:
        sides = {}
    if accounts is None or held_logins is None or sides is None:
        return None
    row = accounts.get(account_id)
    if row is None:
        return None, [], (0,) * 6
    return (dict(zip(ACCOUNT_COLUMNS, row, strict=True)),
            login_groups(held_logins.by_account.get(account_id, []), as_of, ws),
            p2p_counts(sides.get(account_id, []), as_of, ws))
