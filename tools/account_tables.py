"""An account's rows of the per-account tables (accounts, logins, P2P sides), held in memory.

The profile reads the account's row, its logins and its P2P counts in one statement that costs
about 5 ms of DuckDB planning for a few dozen rows. When those tables are small
(`tools.introspect.small_table`) they are read once per connection, grouped by account, and the
same facts are computed here with the filters and orders of `tools.profile.ACCOUNT_SQL` (the tests
compare both paths). A larger table is held for a batch's accounts only (`hold_logins`,
`hold_sides`: one set-based statement each, agent/bulk.py); an account no batch covers, or a
workspace whose P2P orders have no `p2p_sides`, keeps the statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tools.db import Database
from tools.introspect import is_small, small_table, table_columns

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
    """Logins by account, with (account, device, ip, ts) by device and by IP: the whole table when
    it is small, or what a batch held (`hold_logins`): only the accounts and identifiers it covers."""

    by_account: dict[str, list[Login]]
    links: dict[str, list[Link]] | None = None
    """A batch's links by identifier (device or IP); None for a whole table (indexed on demand)."""

    def account(self, account_id: str) -> list[Login] | None:
        """The account's logins; None when a batch's table does not cover it."""
        if self.links is None:
            return self.by_account.get(account_id, [])
        return self.by_account.get(account_id)

    def shared(self, devices: list[str], ips: list[str]) -> list[Link] | None:
        """The logins from one of these devices or IPs; None when one of them is not covered."""
        if self.links is None:
            return [r for d in devices for r in self.by_device.get(d, [])] + \
                [r for i in ips for r in self.by_ip.get(i, [])]
        idents = [*devices, *ips]
        if any(x not in self.links for x in idents):
            return None
        found = [r for d in devices for r in self.links[d] if r[1] == d]
        return found + [r for i in ips for r in self.links[i] if r[2] == i]

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


LOGINS_KIND = "logins"
LINKS_SQL = """SELECT account_id, device_id, ip, ts FROM logins WHERE ts IS NOT NULL
AND (device_id IN (SELECT unnest($devices)) OR ip IN (SELECT unnest($ips)))"""


def logins(db: Database) -> LoginTable | None:
    """The logins table held by account, when small; else what a batch held (`hold_logins`), if
    anything; None when neither (query instead)."""
    def read() -> LoginTable:
        out: dict[str, list[Login]] = {}
        for account, device, country, event, ts, ip in db.execute(
                "SELECT account_id, device_id, country, event, ts, ip FROM logins WHERE ts IS NOT NULL").rows:
            out.setdefault(account, []).append((device, country, event, ts, ip))
        return LoginTable(out)

    whole = small_table(db, "logins", read)
    return whole if whole is not None else db.held.get(LOGINS_KIND, "table")


def hold_logins(db: Database, accounts: list[str], timeout_s: float | None = None) -> None:
    """Hold a batch's logins in three set-based statements when the table is too large to hold
    whole: every login of its accounts (the profile's and the cluster's own), the links of every
    device and IP they used (the cluster's first level) and of the other identifiers those links
    carry (its second level). A case then reads them as from a small table."""
    if not table_columns(db, "logins") or is_small(db, "logins"):
        return
    by_account: dict[str, list[Login]] = {a: [] for a in dict.fromkeys(accounts)}
    for account, device, country, event, ts, ip in db.execute(
            "SELECT account_id, device_id, country, event, ts, ip FROM logins WHERE ts IS NOT NULL "
            "AND account_id IN (SELECT unnest($accounts))", {"accounts": list(by_account)}, timeout_s=timeout_s).rows:
        by_account[account].append((device, country, event, ts, ip))
    links: dict[str, list[Link]] = {}
    devices = {d for rows in by_account.values() for d, _, _, _, _ in rows if d is not None}
    ips = {i for rows in by_account.values() for _, _, _, _, i in rows if i is not None}
    for _level in range(2):
        devices -= links.keys()
        ips -= links.keys()
        if not devices and not ips:
            break
        found = db.execute(LINKS_SQL, {"devices": sorted(devices), "ips": sorted(ips)}, timeout_s=timeout_s).rows
        for x in (*devices, *ips):
            links.setdefault(x, [])
        for account, device, ip, ts in found:
            if device in devices:
                links[device].append((account, device, ip, ts))
            if ip in ips:
                links[ip].append((account, device, ip, ts))
        devices = {r[1] for r in found if r[1] is not None}
        ips = {r[2] for r in found if r[2] is not None}
    db.held.put(LOGINS_KIND, {"table": LoginTable(by_account, links)})


SIDES_KIND = "p2p_sides"


def _sides_sql(db: Database, where: str = "") -> str:
    third = "coalesce(third_party_payer, FALSE)" if "third_party_payer" in table_columns(db, "p2p_sides") else "FALSE"
    return f"SELECT account_id, ts, status, {third} FROM p2p_sides WHERE ts IS NOT NULL{where}"


def account_sides(db: Database, account_id: str) -> list[Side] | None:
    """The account's P2P sides: from the whole table when small, else from a batch's (`hold_sides`)
    when it covers the account; None when neither holds them, or the workspace has P2P orders
    without the per-side table (the statement then finds them by buyer or seller)."""
    if not table_columns(db, "p2p_sides"):
        return None if table_columns(db, "p2p_orders") else []

    def read() -> dict[str, list[Side]]:
        out: dict[str, list[Side]] = {}
        for account, ts, status, paid_by_other in db.execute(_sides_sql(db)).rows:
            out.setdefault(account, []).append((ts, status, bool(paid_by_other)))
        return out

    whole = small_table(db, "p2p_sides", read)
    if whole is not None:
        return whole.get(account_id, [])
    held = db.held.get(SIDES_KIND, "table")
    return held.get(account_id) if held is not None else None


def hold_sides(db: Database, accounts: list[str], timeout_s: float | None = None) -> None:
    """Hold a batch's accounts' P2P sides in one statement when the table is too large to hold
    whole; every batch account gets an entry (none for one without orders)."""
    if not table_columns(db, "p2p_sides") or is_small(db, "p2p_sides"):
        return
    out: dict[str, list[Side]] = {a: [] for a in dict.fromkeys(accounts)}
    for account, ts, status, paid_by_other in db.execute(
            _sides_sql(db, " AND account_id IN (SELECT unnest($accounts))"), {"accounts": list(out)},
            timeout_s=timeout_s).rows:
        out[account].append((ts, status, bool(paid_by_other)))
    db.held.put(SIDES_KIND, {"table": out})


def hold_accounts(db: Database, accounts: list[str], timeout_s: float | None = None) -> None:
    """Hold what a batch's profiles and clusters read of the large per-account tables."""
    hold_logins(db, accounts, timeout_s)
    hold_sides(db, accounts, timeout_s)


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
    account_logins = held_logins.account(account_id) if held_logins is not None else None
    sides = account_sides(db, account_id)
    if accounts is None or account_logins is None or sides is None:
        return None
    row = accounts.get(account_id)
    if row is None:
        return None, [], (0,) * 6
    return (dict(zip(ACCOUNT_COLUMNS, row, strict=True)),
            login_groups(account_logins, as_of, ws),
            p2p_counts(sides, as_of, ws))
