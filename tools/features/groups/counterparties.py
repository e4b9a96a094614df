"""Fan-in and fan-out around the account in the window: how many, how concentrated, how new.

Counterparties are the other side of the window's movements (trades with itself excluded).
"Account" counterparties are the exchange's own accounts (`accounts.account_id`, never guessed
from a prefix); a new account is one registered fewer than NEW_ACCOUNT_DAYS days before the alert.
Concentration is measured on USD: HHI = sum of squared shares (1 = one counterparty).
"""

from __future__ import annotations

from tools.features.query import NEW_ACCOUNT_DAYS, Query
from tools.features.registry import Feature

GROUP = "counterparties"
_NO_IN, _NO_OUT = "nothing came in during the window", "nothing went out during the window"
FEATURES = (
    Feature("sender_count", GROUP, "count", "Distinct entities that sent funds to the account in the window."),
    Feature("receiver_count", GROUP, "count", "Distinct entities the account sent funds to in the window."),
    Feature("account_sender_count", GROUP, "count",
            "Distinct exchange accounts that sent to the account in the window (fan-in, gather)."),
    Feature("account_receiver_count", GROUP, "count",
            "Distinct exchange accounts the account sent to in the window (fan-out, scatter)."),
    Feature("sender_top_share", GROUP, "share", "Largest single sender's share of window inflow USD.",
            None, _NO_IN),
    Feature("sender_hhi", GROUP, "HHI 0..1", "Concentration of window inflow USD over senders.", None, _NO_IN),
    Feature("receiver_top_share", GROUP, "share",
            "Largest single receiver's share of window outflow USD (e.g. a scam victim's one external address).",
            None, _NO_OUT),
    Feature("receiver_hhi", GROUP, "HHI 0..1", "Concentration of window outflow USD over receivers.", None, _NO_OUT),
    Feature("first_seen_counterparty_share", GROUP, "share",
            "Window counterparties never seen by the account before the window / all window counterparties "
            "(0 without counterparties)."),
    Feature("new_account_sender_share", GROUP, "share",
            f"Account senders registered fewer than {NEW_ACCOUNT_DAYS} days before the alert / account senders "
            "(0 without): mule rings are young."),
    Feature("new_account_receiver_share", GROUP, "share",
            f"Account receivers registered fewer than {NEW_ACCOUNT_DAYS} days before the alert / account receivers "
            "(0 without)."),
    Feature("in_transfer_amount_cv", GROUP, "ratio",
            "Coefficient of variation of the window's incoming account-to-account amounts: scripted fan-in is "
            "uniform (near 0), customers paying a merchant are not.", None, "fewer than 2 such transfers"),
    Feature("out_transfer_amount_cv", GROUP, "ratio",
            "Coefficient of variation of the window's outgoing account-to-account amounts.",
            None, "fewer than 2 such transfers"),
    Feature("recurring_receiver_share", GROUP, "share",
            "Window receivers the account had also paid before the window / window receivers (0 without): "
            "payroll pays the same people every month."),
    Feature("recurring_sender_share", GROUP, "share",
            "Window senders that had also paid the account before the window / window senders (0 without)."),
)


def ctes(q: Query) -> list[str]:
    return [
        f"""cp_rows AS MATERIALIZED (
    SELECT x.alert_id, x.dir, x.cp, sum(x.usd) AS usd, count(*) AS n,
           any_value(ac.account_id IS NOT NULL) AS is_account,
           any_value(ac.registered_at > c.as_of - to_days({NEW_ACCOUNT_DAYS})) AS is_new_account
    FROM aw x JOIN acct c USING (alert_id) LEFT JOIN accounts ac ON ac.account_id = x.cp
    WHERE x.dir IN ('in', 'out') AND x.cp IS NOT NULL
    GROUP BY x.alert_id, x.dir, x.cp)""",
        """cp_seen AS (
    SELECT DISTINCT alert_id, dir, cp FROM af WHERE NOT win AND dir IN ('in', 'out'))""",
        """cp_tot AS (SELECT alert_id, dir, sum(usd) AS total FROM cp_rows GROUP BY ALL)""",
        """cp_dir AS (
    SELECT r.alert_id, r.dir, count(*) AS n_cp, count(*) FILTER (is_account) AS n_acc,
           count(*) FILTER (is_account AND is_new_account) AS n_new_acc,
           max(r.usd / nullif(t.total, 0)) AS top_share, sum((r.usd / nullif(t.total, 0)) ** 2) AS hhi,
           count(*) FILTER (sn.cp IS NOT NULL) AS n_recurring
    FROM cp_rows r JOIN cp_tot t USING (alert_id, dir) LEFT JOIN cp_seen sn USING (alert_id, dir, cp)
    GROUP BY ALL)""",
        """cp_new AS (
    SELECT r.alert_id, count(*) AS n_all, count(*) FILTER (z.cp IS NULL) AS n_new
    FROM (SELECT DISTINCT alert_id, cp FROM cp_rows) r
    LEFT JOIN (SELECT DISTINCT alert_id, cp FROM cp_seen) z USING (alert_id, cp)
    GROUP BY 1)""",
        """cp_cv AS (
    SELECT alert_id, dir, CASE WHEN count(*) >= 2 AND avg(usd) > 0 THEN stddev_pop(usd) / avg(usd) END AS cv
    FROM aw WHERE kind = 'internal_transfer' AND dir IN ('in', 'out') GROUP BY ALL)""",
        """g_counterparties AS (
    SELECT s.alert_id,
        coalesce(i.n_cp, 0) AS sender_count, coalesce(o.n_cp, 0) AS receiver_count,
        coalesce(i.n_acc, 0) AS account_sender_count, coalesce(o.n_acc, 0) AS account_receiver_count,
        i.top_share AS sender_top_share, i.hhi AS sender_hhi, o.top_share AS receiver_top_share, o.hhi AS receiver_hhi,
        coalesce(nw.n_new / nullif(nw.n_all, 0), 0) AS first_seen_counterparty_share,
        coalesce(i.n_new_acc / nullif(i.n_acc, 0), 0) AS new_account_sender_share,
        coalesce(o.n_new_acc / nullif(o.n_acc, 0), 0) AS new_account_receiver_share,
        ci.cv AS in_transfer_amount_cv, co.cv AS out_transfer_amount_cv,
        coalesce(o.n_recurring / nullif(o.n_cp, 0), 0) AS recurring_receiver_share,
        coalesce(i.n_recurring / nullif(i.n_cp, 0), 0) AS recurring_sender_share
    FROM sel s
    LEFT JOIN cp_dir i ON i.alert_id = s.alert_id AND i.dir = 'in'
    LEFT JOIN cp_dir o ON o.alert_id = s.alert_id AND o.dir = 'out'
    LEFT JOIN cp_new nw ON nw.alert_id = s.alert_id
    LEFT JOIN cp_cv ci ON ci.alert_id = s.alert_id AND ci.dir = 'in'
    LEFT JOIN cp_cv co ON co.alert_id = s.alert_id AND co.dir = 'out')""",
    ]
