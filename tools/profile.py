"""Account profile: KYC, baseline versus the alert window, logins, P2P, prior alerts, withdrawals.

The window is the `window_days` days up to `as_of` (inclusive); the baseline is everything the
workspace shows before it, averaged per 30 days so the two sides of the table compare directly.
Every query filters `flows` / `logins` by the account first (both are sorted by it), so a profile
costs a handful of small scans even on a 10M-transaction workspace. The `profile` facts of
`tools/facts.py` are computed here, rounded (USD to cents, shares to 4 decimals) exactly as the
summary prints them, so a narrative that quotes the summary matches the evidence.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tools.account_tables import ACCOUNT_COLUMNS, held_account
from tools.alerts import earlier_alerts, resolve_as_of
from tools.db import Database
from tools.errors import InputInvalid, NotFound
from tools.evidence import Evidence, EvidenceLedger, FactValue
from tools.flowcache import Flow, flows_of
from tools.introspect import data_span, table_columns
from tools.profile_summary import render_summary
from tools.screening import match_addresses

NEAR_LOW, THRESHOLD = 9_000.0, 10_000.0
FAST_OUT_HOURS = 72
NEW_DEVICE_HOURS = 72
SECURITY_EVENTS = ("2fa_reset", "password_change", "email_change")
WITHDRAWALS = ("crypto_withdrawal", "fiat_withdrawal")

# Aggregates per period (baseline / window) and asset. `flows` holds one row per movement and side;
# a trade (src = dst = the account) is a single `self` row, counted as activity but never as money
# in or out.
PERIOD_SQL = """
SELECT CASE WHEN ts < $ws THEN 'baseline' ELSE 'window' END AS period, asset,
       count(*) AS txns,
       count(*) FILTER (kind = 'trade') AS trades,
       coalesce(sum(amount_usd) FILTER (direction = 'in'), 0) AS in_usd,
       coalesce(sum(amount_usd) FILTER (direction = 'out'), 0) AS out_usd,
       count(*) FILTER (kind = 'fiat_deposit' AND direction = 'in') AS fiat_deposits,
       count(*) FILTER (kind = 'fiat_deposit' AND direction = 'in' AND amount_usd >= $near AND amount_usd < $thr)
         AS near_threshold,
       count(*) FILTER (kind = 'crypto_withdrawal' AND direction = 'out') AS crypto_withdrawals,
       coalesce(sum(amount_usd), 0) AS volume_usd
FROM flows
WHERE entity = $acc AND layer = 'exchange' AND ts <= $as_of
GROUP BY ALL
ORDER BY period, asset
"""

# Money movements of the window in time order (ins before outs at the same instant), with whether a
# crypto withdrawal's address had been dealt with before the window. The USD held before each
# withdrawal is the baseline net plus a running sum over these.
WINDOW_SQL = """
SELECT ts, txn_id, kind, direction, counterparty, amount_usd,
       kind = 'crypto_withdrawal' AND counterparty IN (
         SELECT counterparty FROM flows WHERE entity = $acc AND layer = 'exchange' AND ts < $ws) AS seen_before
FROM flows
WHERE entity = $acc AND layer = 'exchange' AND ts >= $ws AND ts <= $as_of AND direction <> 'self'
ORDER BY ts, direction, txn_id
"""

LOGINS_SQL = """
SELECT device_id, country, event, min(ts) AS first_ts,
       count(*) FILTER (ts < $ws) AS n_baseline, count(*) FILTER (ts >= $ws) AS n_window,
       min(ts) FILTER (ts >= $ws) AS first_window_ts
FROM logins WHERE account_id = $acc AND ts <= $as_of
GROUP BY ALL
"""

# P2P orders as buyer or seller. `p2p_orders` is sorted by time, so finding one account's orders
# scans it (bounded by the account's life); when the loader provides `p2p_sides` (one row per order
# and side, sorted by account like `flows`) the lookup is a point range instead.
P2P_COUNTS = """
SELECT [count(*) FILTER (ts >= $ws), count(*) FILTER (ts >= $ws AND status IN ('disputed', 'chargeback')),
        count(*) FILTER (ts >= $ws AND {third_party}), count(*) FILTER (status = 'completed'),
        count(*) FILTER (ts < $ws), count(*) FILTER (ts < $ws AND status IN ('disputed', 'chargeback'))]
"""
P2P_SIDES_WHERE = "FROM p2p_sides WHERE account_id = $acc AND ts <= $as_of"
P2P_ORDERS_WHERE = ("FROM p2p_orders WHERE (buyer = $acc OR seller = $acc) "
                    "AND ts >= coalesce({registered}, TIMESTAMP '1970-01-01') AND ts <= $as_of")

PRIOR_ALERTS_SQL = """
SELECT list(struct_pack(alert_id, created_at, rule_id) ORDER BY created_at DESC, alert_id) FROM alerts
WHERE account_id = $acc AND created_at < $as_of AND alert_id <> $exclude
"""

# The account's row with its logins, P2P counts and prior alerts as nested values: one statement
# instead of four (each small look-up costs about 1 ms of DuckDB planning, more than its reading).
ACCOUNT_SQL = "SELECT {columns},\n  ({logins}),\n  ({p2p}),\n  ({prior})\nFROM accounts a WHERE a.account_id = $acc LIMIT 1"
LOGINS_LIST = ("SELECT list(struct_pack(device_id, country, event, first_ts, n_baseline, n_window, first_window_ts) "
               "ORDER BY device_id, country, event) FROM ({query})")


def escalating_run(amounts: list[float]) -> int:
    """Longest run of strictly increasing amounts, in the order given (0 for none)."""
    best = run = 0
    previous: float | None = None
    for amount in amounts:
        run = run + 1 if previous is not None and amount > previous else 1
        best = max(best, run)
        previous = amount
    return best


def fast_out_share(deposits: list[tuple[dt.datetime, float]], withdrawals: list[tuple[dt.datetime, float]],
                   hours: int = FAST_OUT_HOURS) -> float:
    """Share of the deposits' USD withdrawn within `hours` after each deposit, matched oldest first.

    Each withdrawal consumes the oldest deposit still inside its horizon, so one withdrawal never
    counts twice and a withdrawal cannot pay out money that had not arrived yet.
    """
    total = sum(usd for _, usd in deposits)
    if total <= 0:
        return 0.0
    events = sorted([(ts, 0, usd) for ts, usd in deposits] + [(ts, 1, usd) for ts, usd in withdrawals])
    horizon = dt.timedelta(hours=hours)
    open_deposits: deque[list[Any]] = deque()
    matched = 0.0
    for ts, is_withdrawal, usd in events:
        if not is_withdrawal:
            open_deposits.append([ts, usd])
            continue
        while open_deposits and ts - open_deposits[0][0] > horizon:
            open_deposits.popleft()
        left = usd
        while left > 0 and open_deposits:
            take = min(left, open_deposits[0][1])
            matched += take
            left -= take
            open_deposits[0][1] -= take
            if open_deposits[0][1] <= 0:
                open_deposits.popleft()
    return min(1.0, matched / total)


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


@dataclass
class Period:
    """Totals of one side of the comparison (baseline or window)."""

    txns: int = 0
    trades: int = 0
    in_usd: float = 0.0
    out_usd: float = 0.0
    fiat_deposits: int = 0
    near_threshold: int = 0
    crypto_withdrawals: int = 0
    assets: dict[str, float] = field(default_factory=dict)


def _periods(db: Database, params: dict[str, Any], cached: tuple[Flow, ...] | None) -> dict[str, Period]:
    out = {"baseline": Period(), "window": Period()}
    groups = db.execute(PERIOD_SQL, params).rows if cached is None else _period_groups(cached, params)
    for period, asset, txns, trades, in_usd, out_usd, fiat, near, cwd, volume in groups:
        p = out[period]
        p.txns += txns
        p.trades += trades
        p.in_usd += in_usd
        p.out_usd += out_usd
        p.fiat_deposits += fiat
        p.near_threshold += near
        p.crypto_withdrawals += cwd
        if volume > 0:
            p.assets[asset or "?"] = p.assets.get(asset or "?", 0.0) + volume
    return out


def _period_groups(rows: tuple[Flow, ...], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """PERIOD_SQL's groups from the account's cached flows: same filters, sums in storage order,
    groups in its ORDER BY (NULL asset last)."""
    ws, as_of, near, thr = params["ws"], params["as_of"], params["near"], params["thr"]
    groups: dict[tuple[str, str | None], list[Any]] = {}
    for r in rows:
        if r.layer != "exchange" or r.ts is None or r.ts > as_of:
            continue
        g = groups.setdefault(("baseline" if r.ts < ws else "window", r.asset), [0, 0, 0.0, 0.0, 0, 0, 0, 0.0])
        g[0] += 1
        g[1] += r.kind == "trade"
        usd = r.amount_usd
        if usd is not None:
            if r.direction == "in":
                g[2] += usd
            elif r.direction == "out":
                g[3] += usd
            g[7] += usd
        if r.kind == "fiat_deposit" and r.direction == "in":
            g[4] += 1
            g[5] += usd is not None and near <= usd < thr
        g[6] += r.kind == "crypto_withdrawal" and r.direction == "out"
    order = sorted(groups, key=lambda k: (k[0], k[1] is None, k[1] or ""))
    return [(period, asset, *groups[(period, asset)]) for period, asset in order]


class Move(NamedTuple):
    """One money movement of the window, with the USD the account held just before it."""

    ts: dt.datetime
    txn_id: str
    kind: str
    direction: str
    counterparty: str
    usd: float
    seen_before: bool
    held_before: float


def _window_moves(db: Database, params: dict[str, Any], held: float, cached: tuple[Flow, ...] | None) -> list[Move]:
    """Window movements in time order; `held` is the net USD at the window start."""
    rows = db.execute(WINDOW_SQL, params).rows if cached is None else _window_rows(cached, params)
    moves = []
    for ts, txn_id, kind, direction, counterparty, usd, seen in rows:
        moves.append(Move(ts, txn_id, kind, direction, counterparty, usd, bool(seen), held))
        held += usd if direction == "in" else -usd
    return moves


def _window_rows(rows: tuple[Flow, ...], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """WINDOW_SQL's rows from the account's cached flows (a NULL comparison is false, as in SQL)."""
    ws, as_of = params["ws"], params["as_of"]
    exchange = [r for r in rows if r.layer == "exchange" and r.ts is not None]
    before = {r.counterparty for r in exchange if r.ts < ws and r.counterparty is not None}
    out = [(r.ts, r.txn_id, r.kind, r.direction, r.counterparty, r.amount_usd,
            r.kind == "crypto_withdrawal" and r.counterparty in before)
           for r in exchange if ws <= r.ts <= as_of and r.direction is not None and r.direction != "self"]
    return sorted(out, key=lambda m: (m[0], m[3], m[1]))


class AccountFacts(NamedTuple):
    """What the profile reads about the account besides its flows."""

    account: dict[str, Any]
    logins: list[tuple[Any, ...]]
    p2p: tuple[int, ...]
    prior: list[tuple[Any, ...]]
    sql: str


def _account_facts(db: Database, params: dict[str, Any], exclude: str | None) -> AccountFacts:
    """The account row, its logins grouped by device/country/event, its P2P counts and its earlier
    alerts, in one statement (the optional tables simply yield nothing when absent)."""
    cols = table_columns(db, "accounts")
    columns = ", ".join(f"a.{c}" if c in cols else "NULL" for c in ACCOUNT_COLUMNS)
    logins = LOGINS_LIST.format(query=LOGINS_SQL.strip()) if table_columns(db, "logins") else "NULL"
    sides = table_columns(db, "p2p_sides")
    p2p_cols = sides or table_columns(db, "p2p_orders")
    p2p = "NULL"
    if p2p_cols:
        third = "coalesce(third_party_payer, FALSE)" if "third_party_payer" in p2p_cols else "FALSE"
        where = P2P_SIDES_WHERE if sides else P2P_ORDERS_WHERE.format(
            registered="a.registered_at" if "registered_at" in cols else "NULL")
        p2p = P2P_COUNTS.format(third_party=third).strip() + " " + where
    prior = PRIOR_ALERTS_SQL.strip() if table_columns(db, "alerts") else "NULL"
    sql = ACCOUNT_SQL.format(columns=columns, logins=logins, p2p=p2p, prior=prior)
    # Small tables are held in memory (tools.account_tables, tools.alerts): what they hold is read
    # there, and the statement recorded as evidence is still the whole one (what the facts mean).
    held = earlier_alerts(db, params["acc"], params["as_of"], exclude or "") if prior != "NULL" else None
    own = held_account(db, params["acc"], params["as_of"], params["ws"])
    if own is not None and (held is not None or prior == "NULL"):
        account, login_rows, counts = own
        if account is None:
            raise NotFound(f"no account {params['acc']} in the workspace")
        return AccountFacts(account, login_rows, counts, held or [], sql)
    if held is None:
        res = db.execute(sql, {**params, **({"exclude": exclude or ""} if prior != "NULL" else {})})
    else:
        res = db.execute(ACCOUNT_SQL.format(columns=columns, logins=logins, p2p=p2p, prior="NULL"), params)
    if not res.rows:
        raise NotFound(f"no account {params['acc']} in the workspace")
    row = res.rows[0]
    n = len(ACCOUNT_COLUMNS)
    login_rows, counts, earlier = row[n:]
    return AccountFacts(dict(zip(ACCOUNT_COLUMNS, row[:n], strict=True)),
                        [tuple(x.values()) for x in login_rows or []], tuple(counts or (0,) * 6),
                        held if held is not None else [tuple(x.values()) for x in earlier or []], sql)


def _exchange_labelled(db: Database, addresses: set[str]) -> tuple[str, set[str]]:
    """The withdrawal addresses labelled `exchange` (an own account elsewhere, usually benign)."""
    sql, labels = match_addresses(db, addresses)
    return sql, {norm for norm, rows in labels.items() if any(r[2] == "exchange" for r in rows)}


@dataclass
class Logins:
    """Devices, countries and security events, each split by period."""

    devices: dict[str, list[Any]] = field(default_factory=dict)  # id -> [first_ts, n_baseline, n_window]
    countries: dict[str, list[Any]] = field(default_factory=dict)
    security_window: dict[str, list[Any]] = field(default_factory=dict)  # event -> [count, first ts]
    security_baseline: int = 0


def _logins(rows: list[tuple[Any, ...]]) -> Logins:
    out = Logins()
    for device, country, event, first_ts, n_base, n_win, first_win in rows:
        for key, table in ((device, out.devices), (country, out.countries)):
            if key is None:
                continue
            entry = table.setdefault(key, [first_ts, 0, 0])
            entry[0] = min(entry[0], first_ts)
            entry[1] += n_base
            entry[2] += n_win
        if event in SECURITY_EVENTS:
            out.security_baseline += n_base
            if n_win:
                entry = out.security_window.setdefault(event, [0, first_win])
                entry[0] += n_win
                entry[1] = min(entry[1], first_win)
    return out


def _mix(assets: dict[str, float], top: int = 4) -> str:
    total = sum(assets.values())
    if total <= 0:
        return "-"
    ranked = sorted(assets.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{a} {v / total:.0%}" for a, v in ranked[:top]) + (" ..." if len(ranked) > top else "")


def _names(items: dict[str, list[Any]], column: int) -> str:
    names = sorted(k for k, v in items.items() if v[column])
    return ", ".join(names) if names else "-"


def profile(db: Database, ledger: EvidenceLedger, account_id: str, as_of: dt.datetime | None = None,
            window_days: int = 30, alert_id: str | None = None) -> Evidence:
    """Profile an account: KYC, account age, activity in the alert window versus its own baseline,
    logins from new devices or countries, security events, P2P disputes, prior alerts and where its
    withdrawals went (new vs reused addresses, exchange-labelled share, largest vs balance).

    The window is the `window_days` days up to `as_of` (the alert's creation time; default now);
    the baseline column is the average per 30 days before the window. Pass `alert_id` to leave the
    alert itself out of the prior alerts.
    """
    start = time.perf_counter()
    if window_days < 1:
        raise InputInvalid(f"window_days must be at least 1 (got {window_days})")
    as_of = resolve_as_of(db, as_of)
    ws = as_of - dt.timedelta(days=window_days)
    params = {"acc": account_id, "as_of": as_of, "ws": ws}
    about = _account_facts(db, params, alert_id)
    acct, p2p, prior = about.account, about.p2p, about.prior
    cached = flows_of(db, account_id)  # the account's flows, when few enough to keep in memory
    periods = _periods(db, {**params, "near": NEAR_LOW, "thr": THRESHOLD}, cached)
    base, win = periods["baseline"], periods["window"]
    moves = _window_moves(db, params, base.in_usd - base.out_usd, cached)
    logins = _logins(about.logins)

    registered = acct["registered_at"]
    first = data_span(db)[0]
    base_from = max(registered, first) if registered and first else (registered or first or ws)
    base_days = max(0.0, (ws - base_from).total_seconds() / 86400)
    per30 = 30 / max(base_days, 30.0)
    window_per30 = 30 / window_days
    baseline_monthly_in = round(base.in_usd * per30, 2)
    window_in, window_out = round(win.in_usd, 2), round(win.out_usd, 2)
    income = acct["declared_income_usd"]

    deposits = [(m.ts, m.usd) for m in moves if m.kind == "fiat_deposit" and m.direction == "in"]
    withdrawals = [m for m in moves if m.kind in WITHDRAWALS and m.direction == "out"]
    crypto_out = [m for m in withdrawals if m.kind == "crypto_withdrawal"]
    crypto_total = sum(m.usd for m in crypto_out)
    labels_sql, exchange = _exchange_labelled(db, {m.counterparty for m in crypto_out})
    by_address: dict[str, float] = {}
    for m in crypto_out:
        by_address[m.counterparty] = by_address.get(m.counterparty, 0.0) + m.usd
    largest = max(withdrawals, key=lambda m: m.usd, default=None)
    largest_share = 0.0
    if largest is not None:
        largest_share = 1.0 if largest.held_before <= 0 else min(1.0, round(largest.usd / largest.held_before, 4))
    new_device_first = sorted(v[0] for v in logins.devices.values() if v[0] >= ws)
    horizon = dt.timedelta(hours=NEW_DEVICE_HOURS)
    new_device_before = any(w.ts - horizon <= t < w.ts for w in withdrawals for t in new_device_first)
    kyc_country = acct["country"]
    new_countries = sorted(c for c, v in logins.countries.items() if v[0] >= ws and c != kyc_country)

    facts: dict[str, FactValue] = {
        "account_age_days": int((as_of - registered).total_seconds() // 86400) if registered else -1,
        "kyc_level": int(acct["kyc_level"]) if acct["kyc_level"] is not None else -1,
        "is_business": int(acct["kind"] == "business"),
        "age_years": (as_of.year - int(acct["birth_year"]))
        if acct["birth_year"] is not None and acct["kind"] != "business" else -1,
        "declared_income_usd": round(float(income), 2) if income is not None else -1,
        "window_in_usd": window_in,
        "window_out_usd": window_out,
        "window_out_in_ratio": round(window_out / window_in, 4) if window_in > 0 else 0.0,
        "baseline_monthly_in_usd": baseline_monthly_in,
        "inflow_vs_baseline": round(window_in * window_per30 / baseline_monthly_in, 4)
        if baseline_monthly_in > 0 else window_in,
        "inflow_vs_income": -1 if income is None
        else round(window_in * 12 * window_per30 / max(float(income), 1.0), 4),
        "window_txn_count": win.txns,
        "window_trade_count": win.trades,
        "baseline_trade_count": base.trades,
        "window_fiat_deposits": win.fiat_deposits,
        "near_threshold_deposits": win.near_threshold,
        "over_threshold_deposits": sum(1 for _, usd in deposits if usd >= THRESHOLD),
        "escalating_deposit_run": escalating_run([usd for _, usd in deposits]),
        "fiat_to_crypto_out_72h_share": round(fast_out_share(deposits, [(m.ts, m.usd) for m in crypto_out]), 4),
        "withdrawal_new_address_share": _share(sum(m.usd for m in crypto_out if not m.seen_before), crypto_total),
        "withdrawal_top_address_share": _share(max(by_address.values(), default=0.0), crypto_total),
        "withdrawal_exchange_share": _share(sum(m.usd for m in crypto_out if m.counterparty in exchange), crypto_total),
        "largest_withdrawal_balance_share": largest_share,
        "new_devices_window": len(new_device_first),
        "new_countries_window": len(new_countries),
        "security_events_window": sum(v[0] for v in logins.security_window.values()),
        "new_device_before_withdrawal": int(new_device_before),
        "prior_alerts": len(prior),
        "p2p_orders_window": p2p[0],
        "p2p_disputes_window": p2p[1],
        "p2p_third_party_window": p2p[2],
        "p2p_completed_total": p2p[3],
    }

    def per(value: float) -> float:
        return round(value * per30, 2)

    rows = [
        ["transactions", per(base.txns), win.txns],
        ["trades", per(base.trades), win.trades],
        ["usd_in", per(base.in_usd), window_in],
        ["usd_out", per(base.out_usd), window_out],
        ["out_in_ratio", _share(base.out_usd, base.in_usd), facts["window_out_in_ratio"]],
        ["fiat_deposits", per(base.fiat_deposits), win.fiat_deposits],
        ["near_threshold_deposits", per(base.near_threshold), win.near_threshold],
        ["crypto_withdrawals", per(base.crypto_withdrawals), win.crypto_withdrawals],
        ["asset_mix_usd", _mix(base.assets), _mix(win.assets)],
        ["login_countries", _names(logins.countries, 1), _names(logins.countries, 2)],
        ["devices", _names(logins.devices, 1), _names(logins.devices, 2)],
        ["security_events", per(logins.security_baseline), facts["security_events_window"]],
        ["p2p_orders", per(p2p[4]), p2p[0]],
        ["p2p_disputes", per(p2p[5]), p2p[1]],
    ]
    summary = render_summary(account_id, acct, facts, as_of, ws, window_days, base_days, logins, new_countries,
                       withdrawals, largest, by_address, crypto_total, prior)
    queries = [about.sql, PERIOD_SQL, WINDOW_SQL, labels_sql]
    return ledger.record(
        "profile",
        {"account_id": account_id, "as_of": as_of, "window_days": window_days}
        | ({"alert_id": alert_id} if alert_id else {}),
        query=";\n".join(q.strip() for q in queries if q), columns=["metric", "baseline_per_30d", "window"],
        rows=rows, facts=facts, summary=summary, elapsed_ms=(time.perf_counter() - start) * 1000,
    )
