"""Account takeover signs: new devices and countries, security changes, and what left after them.

As the profile tool defines them: a device (or login country) is new when its first login up to
the alert falls in the window; a new country must also differ from the KYC country; security
events are 2fa_reset, password_change and email_change; "before a withdrawal" is within
ACCESS_HOURS hours (a week: the profile's 72 h is one generator's pace, takeovers elsewhere run
slower) before a window withdrawal (crypto or fiat). Balances are the account's own
running USD net (in - out, movements in time order, ins first at the same instant) since it opened.
"""

from __future__ import annotations

from tools.features.query import Query
from tools.features.registry import Feature

GROUP = "access"
ACCESS_HOURS = 168
SECURITY = "('2fa_reset', 'password_change', 'email_change')"
FEATURES = (
    Feature("new_device_count", GROUP, "count", "Devices whose first login falls in the window."),
    Feature("new_country_count", GROUP, "count",
            "Login countries first seen in the window that are not the KYC country."),
    Feature("security_event_count", GROUP, "count", "2FA resets, password and e-mail changes in the window."),
    Feature("new_device_pre_withdrawal", GROUP, "0/1",
            f"1 if a new device first logged in within {ACCESS_HOURS} h before a window withdrawal."),
    Feature("new_country_pre_withdrawal", GROUP, "0/1",
            f"1 if a new login country was first seen within {ACCESS_HOURS} h before a window withdrawal."),
    Feature("security_event_pre_withdrawal", GROUP, "0/1",
            f"1 if a security event came within {ACCESS_HOURS} h before a window withdrawal."),
    Feature("largest_withdrawal_held_share", GROUP, "share",
            "Largest window withdrawal / the USD the account held just before it (1 when it held nothing or "
            "less; 0 without withdrawals): a takeover empties the account."),
    Feature("crypto_out_new_address_share", GROUP, "share",
            "Share of window crypto withdrawal USD sent to addresses the account never dealt with before the "
            "window (0 without)."),
    Feature("crypto_out_top_address_share", GROUP, "share",
            "Share of window crypto withdrawal USD sent to the single top address (0 without)."),
)


def ctes(q: Query) -> list[str]:
    h = ACCESS_HOURS
    return [
        """ac_lg AS MATERIALIZED (
    SELECT s.alert_id, l.ts, l.event, l.device_id, l.country, s.ws
    FROM sel s JOIN logins l ON l.account_id = s.acc_raw AND l.ts <= s.as_of)""",
        """ac_new AS MATERIALIZED (
    SELECT alert_id, 'device' AS what, device_id AS v, min(ts) AS first_ts, any_value(ws) AS ws
    FROM ac_lg WHERE device_id IS NOT NULL GROUP BY alert_id, device_id
    UNION ALL
    SELECT g.alert_id, 'country', g.country, min(g.ts), any_value(g.ws)
    FROM ac_lg g JOIN acct c USING (alert_id)
    WHERE g.country IS NOT NULL AND g.country IS DISTINCT FROM c.country GROUP BY g.alert_id, g.country
    UNION ALL
    SELECT alert_id, 'security', event, ts, ws FROM ac_lg WHERE event IN """ + SECURITY + """)""",
        """ac_wd AS MATERIALIZED (
    SELECT alert_id, ts, usd FROM aw WHERE dir = 'out' AND kind IN ('crypto_withdrawal', 'fiat_withdrawal'))""",
        f"""ac_before AS (
    SELECT n.alert_id, n.what, count(*) AS n FROM ac_new n SEMI JOIN ac_wd w
        ON w.alert_id = n.alert_id AND n.first_ts < w.ts AND n.first_ts >= w.ts - to_hours({h})
    WHERE n.first_ts >= n.ws GROUP BY ALL)""",
        """ac_bal AS (
    SELECT alert_id, win, dir, kind, usd, ts,
           sum(CASE dir WHEN 'in' THEN usd WHEN 'out' THEN -usd ELSE 0 END)
             OVER (PARTITION BY alert_id ORDER BY ts, CASE dir WHEN 'in' THEN 0 ELSE 1 END, txn_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS held
    FROM af WHERE dir <> 'self')""",
        """ac_largest AS (
    SELECT alert_id, first(CASE WHEN coalesce(held, 0) <= 0 THEN 1.0 ELSE least(1.0, usd / held) END
                         ORDER BY usd DESC, ts) AS share
    FROM ac_bal WHERE win AND dir = 'out' AND kind IN ('crypto_withdrawal', 'fiat_withdrawal') GROUP BY 1)""",
        """ac_addr AS (
    SELECT w.alert_id, w.cp, sum(w.usd) AS usd, bool_or(b.cp IS NOT NULL) AS seen
    FROM aw w LEFT JOIN (SELECT DISTINCT alert_id, cp FROM af WHERE NOT win) b USING (alert_id, cp)
    WHERE w.dir = 'out' AND w.kind = 'crypto_withdrawal' GROUP BY w.alert_id, w.cp)""",
        """g_access AS (
    SELECT s.alert_id,
        coalesce(n.devices, 0) AS new_device_count, coalesce(n.countries, 0) AS new_country_count,
        coalesce(n.security, 0) AS security_event_count,
        CASE WHEN bd.n > 0 THEN 1 ELSE 0 END AS new_device_pre_withdrawal,
        CASE WHEN bc.n > 0 THEN 1 ELSE 0 END AS new_country_pre_withdrawal,
        CASE WHEN bs.n > 0 THEN 1 ELSE 0 END AS security_event_pre_withdrawal,
        coalesce(lw.share, 0) AS largest_withdrawal_held_share,
        coalesce(ad.new_usd / nullif(ad.usd, 0), 0) AS crypto_out_new_address_share,
        coalesce(ad.top_usd / nullif(ad.usd, 0), 0) AS crypto_out_top_address_share
    FROM sel s
    LEFT JOIN (SELECT alert_id, count(*) FILTER (what = 'device') AS devices,
                      count(*) FILTER (what = 'country') AS countries, count(*) FILTER (what = 'security') AS security
               FROM ac_new WHERE first_ts >= ws GROUP BY 1) n USING (alert_id)
    LEFT JOIN ac_before bd ON bd.alert_id = s.alert_id AND bd.what = 'device'
    LEFT JOIN ac_before bc ON bc.alert_id = s.alert_id AND bc.what = 'country'
    LEFT JOIN ac_before bs ON bs.alert_id = s.alert_id AND bs.what = 'security'
    LEFT JOIN ac_largest lw USING (alert_id)
    LEFT JOIN (SELECT alert_id, sum(usd) AS usd, sum(usd) FILTER (NOT seen) AS new_usd, max(usd) AS top_usd
               FROM ac_addr GROUP BY 1) ad USING (alert_id))""",
    ]
