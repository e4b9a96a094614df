"""One and two hops out: what the account's receivers do with the money, and who else pays them.

- Receivers are the exchange accounts the account paid in the window; each is followed for
  HORIZON_LONG_H hours after it first received (and never past the alert): what it sent on, and
  to whom. A common sink fed by several receivers is scatter-gather; receivers that pass funds to
  a second layer of accounts that pass them on again is a stack (layering).
- Co-senders are other entities paying the same receivers in the window: in a bipartite block
  every sender pays every receiver.
"""

from __future__ import annotations

from tools.features.query import HORIZON_LONG_H, Query
from tools.features.registry import Feature

GROUP = "network"
FEATURES = (
    Feature("receiver_forward_share", GROUP, "share",
            f"Share of the USD the account sent to other accounts that those accounts sent on within "
            f"{HORIZON_LONG_H} h (0 without account receivers): fan-out recipients who cash out, layers."),
    Feature("common_sink_receivers", GROUP, "count",
            f"Most of the account's receivers that forwarded (within {HORIZON_LONG_H} h) to one common entity "
            "other than the account: scatter-gather's intermediaries."),
    Feature("common_sink_receiver_share", GROUP, "share",
            "common_sink_receivers / account receivers (0 without account receivers)."),
    Feature("second_layer_accounts", GROUP, "count",
            "Distinct accounts (not the account, not its receivers) that its receivers forwarded to in time."),
    Feature("second_layer_forward_share", GROUP, "share",
            f"Share of the USD reaching the second layer that it sent on within {HORIZON_LONG_H} h (0 without): "
            "a stack's layers each pass the money on."),
    Feature("co_sender_count", GROUP, "count",
            "Other entities that paid 2 or more of the account's receivers in the window."),
    Feature("co_sender_overlap", GROUP, "share",
            "Largest share of the account's receivers paid by one other sender in the window (0 with fewer "
            "than 2 receivers): 1 in a complete bipartite block."),
)


def ctes(q: Query) -> list[str]:
    h = HORIZON_LONG_H
    follow = f"""f.layer = 'exchange' AND f.direction = 'out' AND f.ts >= n.t0
        AND f.ts <= least(n.t0 + to_hours({h}), n.as_of) AND f.counterparty <> f.entity"""
    return [
        """nw_recv AS MATERIALIZED (
    SELECT x.alert_id, x.cp AS node, min(x.ts) AS t0, sum(x.usd) AS usd,
           any_value(s.acc) AS acc, any_value(s.ws) AS ws, any_value(s.as_of) AS as_of
    FROM aw x JOIN sel s USING (alert_id) SEMI JOIN accounts ac ON ac.account_id = x.cp
    WHERE x.dir = 'out' GROUP BY x.alert_id, x.cp)""",
        f"""nw_fwd AS MATERIALIZED (
    SELECT n.alert_id, n.node, f.counterparty AS sink, sum(f.amount_usd) AS usd, min(f.ts) AS t
    FROM nw_recv n JOIN flows f ON f.entity = n.node
    WHERE {follow} AND f.counterparty <> n.acc
    GROUP BY ALL)""",
        """nw_l2 AS MATERIALIZED (
    SELECT w.alert_id, w.sink AS node, min(w.t) AS t0, sum(w.usd) AS usd, any_value(s.as_of) AS as_of
    FROM nw_fwd w JOIN sel s USING (alert_id) SEMI JOIN accounts ac ON ac.account_id = w.sink
    ANTI JOIN nw_recv z ON z.alert_id = w.alert_id AND z.node = w.sink
    GROUP BY w.alert_id, w.sink)""",
        f"""nw_l2_fwd AS (
    SELECT n.alert_id, n.node, least(any_value(n.usd), coalesce(sum(f.amount_usd), 0)) AS fwd, any_value(n.usd) AS usd
    FROM nw_l2 n LEFT JOIN flows f ON f.entity = n.node AND {follow}
    GROUP BY n.alert_id, n.node)""",
        """nw_co AS (
    SELECT n.alert_id, f.counterparty AS sender, count(DISTINCT n.node) AS k
    FROM nw_recv n JOIN flows f ON f.entity = n.node AND f.ts BETWEEN n.ws AND n.as_of
    WHERE f.layer = 'exchange' AND f.direction = 'in' AND f.counterparty <> n.acc AND f.counterparty <> f.entity
    GROUP BY ALL)""",
        """nw_out AS (
    SELECT r.alert_id, count(*) AS n_recv, sum(r.usd) AS usd, sum(least(r.usd, coalesce(w.out_usd, 0))) AS fwd
    FROM nw_recv r LEFT JOIN (SELECT alert_id, node, sum(usd) AS out_usd FROM nw_fwd GROUP BY ALL) w USING (alert_id, node)
    GROUP BY 1)""",
        """g_network AS (
    SELECT s.alert_id,
        coalesce(o.fwd / nullif(o.usd, 0), 0) AS receiver_forward_share,
        coalesce(k.best, 0) AS common_sink_receivers,
        coalesce(k.best / nullif(o.n_recv, 0), 0) AS common_sink_receiver_share,
        coalesce(l2.n, 0) AS second_layer_accounts,
        coalesce(l2.fwd / nullif(l2.usd, 0), 0) AS second_layer_forward_share,
        coalesce(co.n, 0) AS co_sender_count,
        CASE WHEN o.n_recv >= 2 THEN coalesce(co.best / o.n_recv, 0) ELSE 0 END AS co_sender_overlap
    FROM sel s LEFT JOIN nw_out o USING (alert_id)
    LEFT JOIN (SELECT alert_id, max(n) AS best FROM (SELECT alert_id, sink, count(DISTINCT node) AS n FROM nw_fwd
               GROUP BY ALL) GROUP BY 1) k USING (alert_id)
    LEFT JOIN (SELECT alert_id, count(*) AS n, sum(usd) AS usd, sum(fwd) AS fwd FROM nw_l2_fwd GROUP BY 1) l2 USING (alert_id)
    LEFT JOIN (SELECT alert_id, count(*) FILTER (k >= 2) AS n, max(k) AS best FROM nw_co GROUP BY 1) co USING (alert_id))""",
    ]
