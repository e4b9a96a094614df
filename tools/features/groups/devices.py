"""Accounts tied by a shared device or IP, and whether they feed one collector (mule rings).

Linked accounts are the other accounts that logged in (up to the alert) from a device or IP the
account used. An identifier used by more than HUB_LIMIT accounts (a carrier NAT, a hotspot) links
nothing, as in the clusters tool. The collector is the exchange account that the most members
(the account and its linked accounts) paid in the window.
"""

from __future__ import annotations

from tools.features.query import NEW_ACCOUNT_DAYS, Query
from tools.features.registry import Feature

GROUP = "devices"
HUB_LIMIT = 20
FEATURES = (
    Feature("shared_device_account_count", GROUP, "count",
            "Other accounts that used one of the account's devices (hub devices excluded)."),
    Feature("shared_ip_account_count", GROUP, "count",
            "Other accounts that used one of the account's IP addresses (hub IPs excluded)."),
    Feature("linked_new_low_kyc_share", GROUP, "share",
            f"Linked accounts younger than {NEW_ACCOUNT_DAYS} days with KYC <= 1 / linked accounts (0 without)."),
    Feature("linked_collector_members", GROUP, "count",
            "Most members (the account and its linked accounts) that paid one common exchange account in the "
            "window (0 without linked accounts)."),
    Feature("linked_collector_share", GROUP, "share",
            "linked_collector_members / members (0 without linked accounts): a mule ring forwards to one collector, "
            "a family sharing Wi-Fi does not."),
    Feature("linked_forward_share", GROUP, "share",
            "Share of the members' window inflow USD that they sent to that collector (0 without linked accounts)."),
)


def ctes(q: Query) -> list[str]:
    return [
        """dv_ids AS MATERIALIZED (
    SELECT DISTINCT s.alert_id, s.acc_raw AS acc, s.as_of, 'device' AS via, l.device_id AS ident
    FROM sel s JOIN logins l ON l.account_id = s.acc_raw AND l.ts <= s.as_of WHERE l.device_id IS NOT NULL
    UNION
    SELECT DISTINCT s.alert_id, s.acc_raw, s.as_of, 'ip', l.ip
    FROM sel s JOIN logins l ON l.account_id = s.acc_raw AND l.ts <= s.as_of WHERE l.ip IS NOT NULL)""",
        f"""dv_pairs AS MATERIALIZED (
    SELECT * FROM (
        SELECT DISTINCT i.alert_id, i.via, i.ident, l.account_id AS other
        FROM dv_ids i JOIN logins l ON l.device_id = i.ident AND l.ts <= i.as_of
        WHERE i.via = 'device' AND l.account_id <> i.acc
        UNION
        SELECT DISTINCT i.alert_id, i.via, i.ident, l.account_id
        FROM dv_ids i JOIN logins l ON l.ip = i.ident AND l.ts <= i.as_of
        WHERE i.via = 'ip' AND l.account_id <> i.acc)
    QUALIFY count(*) OVER (PARTITION BY alert_id, via, ident) < {HUB_LIMIT})""",
        f"""dv_linked AS MATERIALIZED (
    SELECT p.alert_id, p.other, bool_or(p.via = 'device') AS by_device, bool_or(p.via = 'ip') AS by_ip,
           any_value(ac.registered_at > s.as_of - to_days({NEW_ACCOUNT_DAYS}) AND ac.kyc_level <= 1) AS new_low
    FROM dv_pairs p JOIN sel s USING (alert_id) LEFT JOIN accounts ac ON ac.account_id = p.other
    GROUP BY p.alert_id, p.other)""",
        """dv_members AS MATERIALIZED (
    SELECT m.alert_id, m.member, s.ws, s.as_of FROM (
        SELECT alert_id, other AS member FROM dv_linked
        UNION ALL SELECT alert_id, acc_raw FROM sel WHERE alert_id IN (SELECT alert_id FROM dv_linked)) m
    JOIN sel s USING (alert_id))""",
        """dv_flows AS MATERIALIZED (
    SELECT m.alert_id, m.member, f.direction, f.counterparty, sum(f.amount_usd) AS usd
    FROM dv_members m JOIN flows f ON f.entity = m.member AND f.ts BETWEEN m.ws AND m.as_of
    WHERE f.layer = 'exchange' AND f.direction IN ('in', 'out')
    GROUP BY ALL)""",
        """dv_collector AS (
    SELECT alert_id, first(counterparty ORDER BY n DESC, usd DESC, counterparty) AS collector, max(n) AS n FROM (
        SELECT f.alert_id, f.counterparty, count(DISTINCT f.member) AS n, sum(f.usd) AS usd
        FROM dv_flows f SEMI JOIN accounts ac ON ac.account_id = f.counterparty
        WHERE f.direction = 'out' GROUP BY ALL)
    GROUP BY 1)""",
        """dv_fwd AS (
    SELECT f.alert_id, sum(f.usd) FILTER (f.direction = 'in') AS usd_in,
           sum(f.usd) FILTER (f.direction = 'out' AND f.counterparty = c.collector) AS usd_fwd
    FROM dv_flows f JOIN dv_collector c USING (alert_id) GROUP BY 1)""",
        """g_devices AS (
    SELECT s.alert_id,
        coalesce(k.n_device, 0) AS shared_device_account_count, coalesce(k.n_ip, 0) AS shared_ip_account_count,
        coalesce(k.n_new_low / nullif(k.n, 0), 0) AS linked_new_low_kyc_share,
        CASE WHEN k.n > 0 THEN coalesce(c.n, 0) ELSE 0 END AS linked_collector_members,
        CASE WHEN k.n > 0 THEN coalesce(c.n, 0) / (k.n + 1) ELSE 0 END AS linked_collector_share,
        CASE WHEN k.n > 0 THEN least(1.0, coalesce(w.usd_fwd / nullif(w.usd_in, 0), 0)) ELSE 0 END AS linked_forward_share
    FROM sel s
    LEFT JOIN (SELECT alert_id, count(*) AS n, count(*) FILTER (by_device) AS n_device, count(*) FILTER (by_ip) AS n_ip,
                      count(*) FILTER (new_low) AS n_new_low FROM dv_linked GROUP BY 1) k USING (alert_id)
    LEFT JOIN dv_collector c USING (alert_id) LEFT JOIN dv_fwd w USING (alert_id))""",
    ]
