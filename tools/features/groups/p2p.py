"""P2P marketplace behaviour: disputes, chargebacks, third-party payers, and merchant history."""

from __future__ import annotations

from tools.features.query import Query
from tools.features.registry import Feature

GROUP = "p2p"
FEATURES = (
    Feature("p2p_order_count", GROUP, "count", "P2P orders in the window, as buyer or seller."),
    Feature("p2p_dispute_count", GROUP, "count", "Disputed or charged-back P2P orders in the window."),
    Feature("p2p_dispute_share", GROUP, "share",
            "Disputed or charged-back / all window P2P orders (0 without): one dispute among hundreds is a "
            "merchant's normal, three of five is fraud."),
    Feature("p2p_third_party_count", GROUP, "count", "Window P2P orders paid by someone other than the buyer."),
    Feature("p2p_third_party_share", GROUP, "share", "Third-party-paid / all window P2P orders (0 without)."),
    Feature("p2p_completed_before_log", GROUP, "log10(1+count)",
            "Completed P2P orders before the window, log-scaled: an established merchant's track record."),
    Feature("p2p_counterparty_count", GROUP, "count", "Distinct P2P counterparties in the window."),
)


def ctes(q: Query) -> list[str]:
    return [
        """pp AS MATERIALIZED (
    SELECT s.alert_id, p.ts >= s.ws AS win, p.status, coalesce(p.third_party_payer, FALSE) AS tpp, p.counterparty
    FROM sel s JOIN p2p_sides p ON p.account_id = s.acc_raw AND p.ts <= s.as_of)""",
        """g_p2p AS (
    SELECT s.alert_id,
        coalesce(a.n, 0) AS p2p_order_count, coalesce(a.disputes, 0) AS p2p_dispute_count,
        coalesce(a.disputes / nullif(a.n, 0), 0) AS p2p_dispute_share,
        coalesce(a.tpp, 0) AS p2p_third_party_count, coalesce(a.tpp / nullif(a.n, 0), 0) AS p2p_third_party_share,
        log10(1 + coalesce(a.completed_before, 0)) AS p2p_completed_before_log,
        coalesce(a.cps, 0) AS p2p_counterparty_count
    FROM sel s LEFT JOIN (
        SELECT alert_id, count(*) FILTER (win) AS n,
               count(*) FILTER (win AND status IN ('disputed', 'chargeback')) AS disputes,
               count(*) FILTER (win AND tpp) AS tpp,
               count(*) FILTER (NOT win AND status = 'completed') AS completed_before,
               count(DISTINCT counterparty) FILTER (win) AS cps
        FROM pp GROUP BY 1) a USING (alert_id))""",
    ]
