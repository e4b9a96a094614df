"""An alert's context: who, when, which rule, which transactions, and the window it looks back on.

Tools take an account and an `as_of` time rather than an alert so they can also answer an
investigator's free question about an account; `alert_context` is the one place that turns an
alert id into those arguments, so every tool of a case looks at the same window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tools.account_tables import account_ids
from tools.db import Database
from tools.errors import NotFound
from tools.introspect import data_span, small_table, table_columns

DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class AlertContext:
    """What an investigation of one alert starts from."""

    alert_id: str
    account_id: str
    created_at: dt.datetime
    rule_id: str
    description: str
    txn_ids: list[str] = field(default_factory=list)
    window_start: dt.datetime | None = None


def split_txn_ids(raw: str | None) -> list[str]:
    """The `;`-separated `alerts.txn_ids` cell as a list, without blanks."""
    return [t.strip() for t in (raw or "").split(";") if t.strip()]


AlertRow = tuple[str, dt.datetime, str | None, str | None, str | None]  # account, created, rule, description, txn ids


@dataclass(frozen=True)
class AlertTable:
    """A small `alerts` table held in memory: rows by alert id, and (alert, created, rule) by account."""

    by_id: dict[str, AlertRow]
    by_account: dict[str, list[tuple[str, dt.datetime, str | None]]]


def _alert_table(db: Database) -> AlertTable | None:
    def read() -> AlertTable:
        txn_expr = "txn_ids" if "txn_ids" in table_columns(db, "alerts") else "NULL"
        rows = db.execute(f"SELECT alert_id, account_id, created_at, rule_id, description, {txn_expr} FROM alerts").rows
        by_account: dict[str, list[tuple[str, dt.datetime, str | None]]] = {}
        for alert_id, account_id, created_at, rule_id, _, _ in rows:
            if alert_id is not None and created_at is not None:
                by_account.setdefault(account_id, []).append((alert_id, created_at, rule_id))
        return AlertTable({r[0]: r[1:] for r in reversed(rows) if r[0] is not None}, by_account)

    return small_table(db, "alerts", read)


def alert_context(db: Database, alert_id: str, window_days: int = DEFAULT_WINDOW_DAYS) -> AlertContext:
    """Look an alert up; raise NotFound for an id the workspace does not hold."""
    cols = table_columns(db, "alerts")
    if not cols:
        raise NotFound(f"no alerts table in the workspace, so no alert {alert_id}")
    held = _alert_table(db)
    if held is not None:
        row = held.by_id.get(alert_id)
    else:
        txn_expr = "txn_ids" if "txn_ids" in cols else "NULL"
        rows = db.execute(
            f"SELECT account_id, created_at, rule_id, description, {txn_expr} FROM alerts WHERE alert_id = ? LIMIT 1",
            [alert_id],
        ).rows
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no alert {alert_id} in the workspace")
    account_id, created_at, rule_id, description, txn_ids = row
    return AlertContext(
        alert_id=alert_id,
        account_id=account_id,
        created_at=created_at,
        rule_id=rule_id or "",
        description=description or "",
        txn_ids=split_txn_ids(txn_ids),
        window_start=created_at - dt.timedelta(days=window_days),
    )


def earlier_alerts(db: Database, account_id: str, before: dt.datetime,
                   exclude: str) -> list[tuple[str, dt.datetime, str | None]] | None:
    """The account's alerts created before `before`, newest first (then by id), without `exclude`:
    from a small alerts table in memory; None when it is too large to hold (query it instead)."""
    held = _alert_table(db)
    if held is None:
        return None
    found = sorted((a for a in held.by_account.get(account_id, []) if a[1] < before and a[0] != exclude),
                   key=lambda a: a[0])
    found.sort(key=lambda a: a[1], reverse=True)  # stable: ties on time stay in id order
    return found


def account_exists(db: Database, account_id: str) -> bool:
    """True when the id is one of the exchange's accounts (never guessed from its spelling)."""
    every = account_ids(db)
    if every is not None:
        return account_id in every
    return db.scalar("SELECT count(*) FROM accounts WHERE account_id = ?", [account_id]) > 0


def resolve_as_of(db: Database, as_of: dt.datetime | None) -> dt.datetime:
    """The moment a look-back ends, as naive UTC like the workspace's TIMESTAMP columns.

    Without an explicit time this is now, or the workspace's latest movement when the data ends
    earlier (an export loaded days ago): "now, as far as the workspace knows".
    """
    if as_of is None:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        latest = data_span(db)[1]
        return min(now, latest) if latest is not None else now
    if as_of.tzinfo is not None:
        return as_of.astimezone(dt.UTC).replace(tzinfo=None)
    return as_of
