"""How much and how fast money moves in the window, against the account's own baseline.

Baseline rates are per 30 days over the visible history before the window (as the profile tool
computes them), window rates per 30 days of the window, so the ratios compare like with like.
"""

from __future__ import annotations

from tools.features.query import Query
from tools.features.registry import Feature

GROUP = "velocity"
FEATURES = (
    Feature("window_movement_count", GROUP, "count",
            "Exchange movements in the window (deposits, withdrawals, transfers, P2P, trades)."),
    Feature("window_in_usd_log", GROUP, "log10(1+USD)",
            "USD into the account in the window, log-scaled so the size of a world's amounts matters less."),
    Feature("window_out_usd_log", GROUP, "log10(1+USD)", "USD out of the account in the window, log-scaled."),
    Feature("out_in_ratio", GROUP, "ratio",
            "Window USD out / USD in: near 1 for a pass-through or mule, low for a saver.",
            None, "nothing came in during the window"),
    Feature("net_flow_share", GROUP, "share -1..1",
            "(in - out) / (in + out) over the window: -1 only out, 0 balanced, 1 only in (0 with no movement)."),
    Feature("inflow_baseline_ratio", GROUP, "ratio",
            "Window inflow per 30 days / baseline inflow per 30 days: a sudden jump over the account's own past.",
            None, "no inflow before the window"),
    Feature("movement_baseline_ratio", GROUP, "ratio",
            "Window movements per 30 days / baseline movements per 30 days.",
            None, "no movement before the window"),
    Feature("baseline_days", GROUP, "days",
            "Days of visible history before the window (registration or the data's start, whichever is later)."),
    Feature("window_trade_share", GROUP, "share",
            "Trades (order-book buys and sells) among the window's movements: genuine traders trade, "
            "launderers move money through."),
    Feature("baseline_trade_share", GROUP, "share", "Trades among the movements before the window."),
    Feature("active_days_share", GROUP, "share", "Days of the window with at least one movement / window days."),
    Feature("fiat_in_share", GROUP, "share", "Share of window inflow USD that arrived as fiat deposits."),
    Feature("crypto_out_share", GROUP, "share", "Share of window outflow USD that left as crypto withdrawals."),
    Feature("internal_share", GROUP, "share",
            "Share of window in+out USD moved by internal transfers and P2P trades (account to account)."),
    Feature("deposit_escalation_run", GROUP, "count",
            "Longest run of strictly increasing window fiat deposits, in time order: a scam victim is talked "
            "into larger and larger deposits."),
    Feature("deposit_growth_ratio", GROUP, "ratio",
            "Last window fiat deposit / first window fiat deposit (USD).", None, "fewer than 2 window fiat deposits"),
)


def ctes(q: Query) -> list[str]:
    return [
        """v_agg AS (
    SELECT alert_id,
        count(*) FILTER (win) AS n_w, count(*) FILTER (NOT win) AS n_b,
        count(*) FILTER (win AND kind = 'trade') AS trades_w, count(*) FILTER (NOT win AND kind = 'trade') AS trades_b,
        coalesce(sum(usd) FILTER (win AND dir = 'in'), 0) AS in_w, coalesce(sum(usd) FILTER (win AND dir = 'out'), 0) AS out_w,
        coalesce(sum(usd) FILTER (NOT win AND dir = 'in'), 0) AS in_b,
        coalesce(sum(usd) FILTER (win AND dir = 'in' AND kind = 'fiat_deposit'), 0) AS fiat_in_w,
        coalesce(sum(usd) FILTER (win AND dir = 'out' AND kind = 'crypto_withdrawal'), 0) AS crypto_out_w,
        coalesce(sum(usd) FILTER (win AND dir <> 'self' AND kind IN ('internal_transfer', 'p2p_trade')), 0) AS internal_w,
        count(DISTINCT CAST(ts AS DATE)) FILTER (win) AS days_w
    FROM af GROUP BY alert_id)""",
        """v_dep AS (
    SELECT alert_id, usd, ts, txn_id,
           sum(CASE WHEN prev IS NULL OR usd <= prev THEN 1 ELSE 0 END)
               OVER (PARTITION BY alert_id ORDER BY ts, txn_id ROWS UNBOUNDED PRECEDING) AS run_id
    FROM (SELECT alert_id, usd, ts, txn_id, lag(usd) OVER (PARTITION BY alert_id ORDER BY ts, txn_id) AS prev
          FROM aw WHERE kind = 'fiat_deposit' AND dir = 'in'))""",
        """v_esc AS (
    SELECT alert_id, max(n) AS run, any_value(growth) AS growth FROM (
        SELECT alert_id, run_id, count(*) AS n,
               any_value(g) AS growth
        FROM (SELECT *, CASE WHEN count(*) OVER (PARTITION BY alert_id) >= 2 THEN
                     last(usd) OVER w / nullif(first(usd) OVER w, 0) END AS g
              FROM v_dep WINDOW w AS (PARTITION BY alert_id ORDER BY ts, txn_id
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
        GROUP BY alert_id, run_id)
    GROUP BY alert_id)""",
        f"""g_velocity AS (
    SELECT c.alert_id,
        coalesce(v.n_w, 0) AS window_movement_count,
        log10(1 + coalesce(v.in_w, 0)) AS window_in_usd_log,
        log10(1 + coalesce(v.out_w, 0)) AS window_out_usd_log,
        CASE WHEN v.in_w > 0 THEN v.out_w / v.in_w END AS out_in_ratio,
        CASE WHEN v.in_w + v.out_w > 0 THEN (v.in_w - v.out_w) / (v.in_w + v.out_w) ELSE 0 END AS net_flow_share,
        CASE WHEN v.in_b > 0 AND c.base_days > 0 THEN
            (v.in_w * 30.0 / {q.window_days}) / (v.in_b * 30.0 / greatest(c.base_days, 30)) END AS inflow_baseline_ratio,
        CASE WHEN v.n_b > 0 AND c.base_days > 0 THEN
            (v.n_w * 30.0 / {q.window_days}) / (v.n_b * 30.0 / greatest(c.base_days, 30)) END AS movement_baseline_ratio,
        c.base_days AS baseline_days,
        CASE WHEN v.n_w > 0 THEN v.trades_w / v.n_w ELSE 0 END AS window_trade_share,
        CASE WHEN v.n_b > 0 THEN v.trades_b / v.n_b ELSE 0 END AS baseline_trade_share,
        least(1.0, coalesce(v.days_w, 0) / {float(q.window_days)}) AS active_days_share,
        CASE WHEN v.in_w > 0 THEN v.fiat_in_w / v.in_w ELSE 0 END AS fiat_in_share,
        CASE WHEN v.out_w > 0 THEN v.crypto_out_w / v.out_w ELSE 0 END AS crypto_out_share,
        CASE WHEN v.in_w + v.out_w > 0 THEN v.internal_w / (v.in_w + v.out_w) ELSE 0 END AS internal_share,
        coalesce(e.run, 0) AS deposit_escalation_run, e.growth AS deposit_growth_ratio
    FROM acct c LEFT JOIN v_agg v USING (alert_id) LEFT JOIN v_esc e USING (alert_id))""",
    ]
