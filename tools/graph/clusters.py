"""clusters: accounts tied to this one by a shared device or IP, and whether they feed one collector.

The cluster is the account, the accounts that logged in from one of its devices or IPs, and the
accounts sharing a device or IP with those (two levels; mule rings often rotate two phones). An
identifier used by more than `HUB_LIMIT` accounts (a carrier NAT, a public hotspot) still counts
for the shared_* facts but does not grow the cluster. The collector is the exchange account that
the most cluster members sent funds to in the window (it may itself share the device).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from tools import flowcache
from tools.account_tables import logins
from tools.db import Database
from tools.evidence import Evidence, EvidenceLedger
from tools.graph.common import accounts_among, day, forwarded_within, has_table, norm_entity, resolve_as_of, usd, window

HUB_LIMIT = 20
OWN_SQL = "SELECT DISTINCT device_id, ip FROM logins WHERE account_id = $a AND ts <= $e"
SHARED_SQL = """SELECT account_id, device_id, ip FROM logins
WHERE ts <= $e AND (list_contains($devs, device_id) OR list_contains($ips, ip))"""
FLOWS_SQL = """SELECT direction, counterparty, ts, amount_usd, txn_id FROM flows
WHERE entity = $a AND counterparty <> entity AND ts BETWEEN $s AND $e"""
COLUMNS = ["account_id", "relation", "shared_via", "kyc_level", "registered_at", "window_in_usd", "to_collector_usd",
           "to_collector_txn_ids"]


def clusters(
    db: Database,
    ledger: EvidenceLedger,
    account_id: str,
    as_of: dt.datetime | None = None,
    window_days: int = 30,
    max_members: int = 50,
) -> Evidence:
    """Accounts sharing a device or IP with the account (logins up to `as_of`, default the latest
    alert) and, in the alert window, whether two or more of them send to one common collector
    account and how much of their inflow they forward to it within 48 hours. Rows: each member,
    how it is tied (device/IP ids), KYC level, registration date, window inflow, USD sent to the
    collector with transaction ids. Facts: shared_device_accounts, shared_ip_accounts,
    cluster_size, cluster_common_collector, cluster_forward_share, cluster_new_low_kyc_share.
    """
    acct = norm_entity(account_id)
    ref = resolve_as_of(db, acct, as_of)
    start, end = window(ref, window_days)
    args = {"account_id": acct, "as_of": ref, "window_days": window_days}
    if not has_table(db, "logins"):
        return ledger.record("clusters", args, error="the workspace has no logins table: device/IP links unknown")
    own = _own(db, acct, end)
    devs = sorted({d for d, _ in own if d})
    ips = sorted({i for _, i in own if i})
    links = _shared(db, devs, ips, end)
    dev_accts = {a for a, d, _ in links if d in devs and a != acct}
    ip_accts = {a for a, _, i in links if i in ips and a != acct}

    via: dict[str, set[str]] = defaultdict(set)
    members = {acct} | _grow(links, devs, ips, via)
    if len(members) < max_members:
        lvl2 = _shared(db, sorted({d for a, d, _ in links if a in members and d}),
                       sorted({i for a, _, i in links if a in members and i}), end)
        members |= _grow(lvl2, sorted({d for a, d, _ in lvl2 if a in members and d}),
                         sorted({i for a, _, i in lvl2 if a in members and i}), via)
    members = set(sorted(members, key=lambda m: (m != acct, m))[:max_members])

    rows_by = _window_flows(db, sorted(members), start, end)
    collector, senders = _collector(db, rows_by)
    kyc = {r[0]: (r[1], r[2]) for r in db.execute(
        "SELECT account_id, kyc_level, registered_at FROM accounts WHERE list_contains($m, account_id)",
        {"m": sorted(members | ({collector} if collector else set()))}).rows}
    share, inflow, sent = _forward_share(rows_by, members, collector)
    young_low = sum(1 for m in members if m in kyc and kyc[m][0] is not None and kyc[m][0] <= 1
                    and kyc[m][1] is not None and (ref - kyc[m][1]) < dt.timedelta(days=90))
    facts = {
        "shared_device_accounts": len(dev_accts),
        "shared_ip_accounts": len(ip_accts),
        "cluster_size": len(members),
        "cluster_common_collector": int(collector is not None),
        "cluster_forward_share": share,
        "cluster_new_low_kyc_share": round(young_low / len(members), 6),
    }
    rows = []
    listed = members | ({collector} if collector else set())
    for m in sorted(listed, key=lambda m: (m != acct, m != collector, m)):
        rel = "self" if m == acct else "collector" if m == collector else "member"
        if m == collector and m not in members:
            rel = "collector (no shared login)"
        k = kyc.get(m, (None, None))
        txns = [r[4] for r in rows_by.get(m, []) if r[0] == "out" and r[1] == collector]
        rows.append([m, rel, ",".join(sorted(via.get(m, ()))), k[0], k[1], round(inflow.get(m, 0.0), 2),
                     round(sent.get(m, 0.0), 2), ";".join(txns[:10])])
    summary = _summary(acct, start, end, devs, ips, members, collector, senders, facts, sent)
    return ledger.record("clusters", args, query=SHARED_SQL, columns=COLUMNS, rows=rows, facts=facts,
                         summary=summary)


def _own(db: Database, acct: str, end: dt.datetime) -> list[tuple]:
    """OWN_SQL: the account's (device, IP) pairs up to `end` (from logins held in memory: a small
    table, or a batch's)."""
    held = logins(db)
    rows = held.account(acct) if held is not None else None
    if rows is None:
        return db.execute(OWN_SQL, {"a": acct, "e": end}).rows
    return sorted({(d, i) for d, _, _, ts, i in rows if ts <= end}, key=str)


def _shared(db: Database, devs: list[str], ips: list[str], end: dt.datetime) -> list[tuple]:
    """SHARED_SQL: (account, device, IP) of the logins up to `end` from one of these devices or IPs
    (a set of links: only which accounts share which identifier matters, not order or repeats)."""
    if not devs and not ips:
        return []
    held = logins(db)
    links = held.shared(devs, ips) if held is not None else None
    if links is None:
        return db.execute(SHARED_SQL, {"devs": devs, "ips": ips, "e": end}).rows
    return sorted({(a, d, i) for a, d, i, ts in links if ts <= end}, key=str)


def _window_flows(db: Database, members: list[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[tuple]]:
    """FLOWS_SQL per member: its movements with others in the window, in storage order (from the
    flow cache when the member is not too busy to keep)."""
    cached = flowcache.cache_of(db).flows(db, members)
    out: dict[str, list[tuple]] = {}
    for m in members:
        rows = cached[m]
        out[m] = (db.execute(FLOWS_SQL, {"a": m, "s": start, "e": end}).rows if rows is None else
                  [(r.direction, r.counterparty, r.ts, r.amount_usd, r.txn_id)
                   for r in flowcache.movements(rows, m, start, end)])
    return out


def _grow(links: list[tuple], devs: list[str], ips: list[str], via: dict[str, set[str]]) -> set[str]:
    """Accounts reached through identifiers that are not hubs; records which identifier tied them."""
    users: dict[str, set[str]] = defaultdict(set)
    for a, d, i in links:
        if d in devs:
            users[d].add(a)
        if i in ips:
            users[i].add(a)
    out: set[str] = set()
    for ident, accts in users.items():
        if 1 < len(accts) <= HUB_LIMIT:
            for a in accts:
                via[a].add(ident)
            out |= accts
    return out


def _collector(db: Database, rows_by: dict[str, list[tuple]]) -> tuple[str | None, list[str]]:
    """The account receiving from the most members (2+), ties broken by USD; with its senders."""
    recv: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for m, rows in rows_by.items():
        for direction, cp, _ts, amount, _txn in rows:
            if direction == "out" and cp != m:
                recv[cp][m] += amount
    accts = accounts_among(db, [c for c, s in recv.items() if len(s) >= 2])
    best = sorted(((len(recv[c]), sum(recv[c].values()), c) for c in accts), reverse=True)
    if not best:
        return None, []
    c = best[0][2]
    return c, sorted(recv[c])


def _forward_share(rows_by: dict[str, list[tuple]], members: set[str], collector: str | None
                   ) -> tuple[float, dict[str, float], dict[str, float]]:
    """Share of members' inflow (from outside the cluster) sent on to the collector within 48 h."""
    inflow: dict[str, float] = {}
    sent: dict[str, float] = {}
    fwd = 0.0
    for m, rows in rows_by.items():
        if m == collector:
            continue
        ins = [(ts, amt) for d, cp, ts, amt, _ in rows if d == "in" and cp not in members and cp != collector]
        outs = [(ts, amt) for d, cp, ts, amt, _ in rows if d == "out" and cp == collector]
        inflow[m] = sum(a for _, a in ins)
        sent[m] = sum(a for _, a in outs)
        if collector is not None:
            fwd += forwarded_within(ins, outs, 48)
    total = sum(inflow.values())
    return (round(min(1.0, fwd / total), 6) if total > 0 and collector else 0.0), inflow, sent


def _summary(acct: str, start: dt.datetime, end: dt.datetime, devs: list[str], ips: list[str], members: set[str],
             collector: str | None, senders: list[str], facts: dict, sent: dict[str, float]) -> str:
    text = (f"{acct} used {len(devs)} devices and {len(ips)} IPs; {facts['shared_device_accounts']} other accounts "
            f"share a device and {facts['shared_ip_accounts']} an IP; cluster of {len(members)} accounts"
            + (f": {', '.join(sorted(members)[:12])}" if len(members) > 1 else "") + ".")
    if collector:
        text += (f" From {day(start)} to {day(end)}, {len(senders)} members sent {usd(sum(sent.values()))} to "
                 f"common collector {collector}; {facts['cluster_forward_share']:.1%} of members' inflow was "
                 f"forwarded to it within 48 h.")
    else:
        text += " No common collector in the window."
    text += f" {facts['cluster_new_low_kyc_share']:.1%} of the cluster is under 90 days old with KYC <= 1."
    return text
