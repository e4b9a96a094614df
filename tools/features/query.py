"""What one feature build is parameterised by, and the shared SQL it starts from.

The alert window is the one the profile and graph tools use (tools/profile.py, tools/alerts.py):
the `window_days` days up to the alert's `created_at`, both ends included; the baseline is
everything before the window start, averaged per 30 days over the visible history (from the later
of registration and the workspace's first movement). Nothing after the alert is read.

The base relations, shared by every group:
- `sel`: the alerts built (alert_id, acc = the account as `flows.entity` spells it, as_of, ws).
- `acct`: the account row per alert with `base_days` (days of visible history before the window)
  and `per30` (30 / max(base_days, 30): baseline totals to a per-30-day rate).
- `af`: the account's exchange movements up to the alert (one `flows` row per side; `win` = in
  the window), joined on `flows.entity` so DuckDB reads the entity-sorted table once.
- `span`: the workspace's first exchange movement (`tools.introspect.data_span`'s minimum: the
  exchange side of `flows` is `transactions`, whose time-sorted row groups answer it cheaply).
Neither the rule id nor the description of the alert is read, anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.data.layout import norm_sql
from tools.settings import JURISDICTIONS, JurisdictionProfile

DEFAULT_WINDOW_DAYS = 30
NEW_ACCOUNT_DAYS = 90
HORIZON_SHORT_H = 24
HORIZON_LONG_H = 72
HORIZON_WEEK_H = 168
MAX_HOPS = 4


@dataclass(frozen=True)
class Query:
    """Parameters of one build; everything in the statement is derived from these."""

    profile: JurisdictionProfile = JURISDICTIONS["global"]
    window_days: int = DEFAULT_WINDOW_DAYS
    filtered: bool = False  # True: only the alerts of the $ids parameter

    def __post_init__(self) -> None:
        if not isinstance(self.window_days, int) or self.window_days < 1:
            raise ValueError(f"window_days must be a positive integer (got {self.window_days!r})")


def base_ctes(q: Query) -> list[str]:
    """The relations every group reads (see the module docstring)."""
    where = "WHERE a.alert_id IN (SELECT unnest($ids::VARCHAR[]))" if q.filtered else ""
    return [
        f"""sel AS MATERIALIZED (
    SELECT a.alert_id, a.account_id AS acc_raw, {norm_sql('a.account_id')} AS acc, a.created_at AS as_of,
           a.created_at - to_days({q.window_days}) AS ws
    FROM alerts a {where})""",
        """span AS MATERIALIZED (SELECT min(ts) AS first_ts FROM transactions)""",
        """acct AS MATERIALIZED (
    SELECT s.alert_id, s.acc, s.as_of, s.ws, ac.kind, ac.kyc_level, ac.registered_at, ac.declared_income_usd,
           ac.birth_year, ac.country,
           greatest(0, epoch(s.ws - coalesce(greatest(ac.registered_at, span.first_ts), ac.registered_at,
                                             span.first_ts, s.ws)) / 86400) AS base_days
    FROM sel s LEFT JOIN accounts ac ON ac.account_id = s.acc_raw, span)""",
        """af AS MATERIALIZED (
    SELECT s.alert_id, f.counterparty AS cp, f.direction AS dir, f.ts, f.kind, f.asset, f.amount_usd AS usd,
           f.txn_id, f.ts >= s.ws AS win
    FROM sel s JOIN flows f ON f.entity = s.acc AND f.ts <= s.as_of
    WHERE f.layer = 'exchange')""",
        """aw AS (SELECT * FROM af WHERE win)""",
    ]
