"""Round trips: funds that leave the account and come back to it through other accounts.

As the cycles tool defines them (tools/graph/cycles.py): only account-to-account movements
(internal transfers, P2P) are followed, inside the alert window, each movement at or after the
previous one reached its node, none twice. The tool stops at 4 other accounts; other generators
plant longer loops, so this follows up to MAX_INTERMEDIARIES (6) other accounts. The
USD that came back is the smallest edge on the path, its share that over the first edge. Each
level keeps the CAP_PER_LEVEL strongest open paths of an alert (the tool keeps 25 per hop too).
"""

from __future__ import annotations

from tools.features.query import Query
from tools.features.registry import Feature

GROUP = "cycles"
MAX_INTERMEDIARIES = 6
CAP_PER_LEVEL = 25
KINDS = "('internal_transfer', 'p2p_trade')"
FEATURES = (
    Feature("round_trip_return_share", GROUP, "share",
            "Largest share of a round trip's first movement that came back to the account (smallest edge / "
            "first edge, at most 1; 0 without a cycle): round-tripping returns most of the money."),
    Feature("round_trip_length", GROUP, "movements",
            f"Movements in that best round trip (2 to {MAX_INTERMEDIARIES + 1}; 0 without a cycle)."),
    Feature("round_trip_count", GROUP, "count", "Distinct round-trip paths found (each level capped, see the module)."),
)


def ctes(q: Query) -> list[str]:
    out = [f"""cy1 AS MATERIALIZED (
    SELECT x.alert_id, x.cp AS node, min(x.ts) AS t, sum(x.usd) AS u, sum(x.usd) AS u0, [x.cp] AS path, 1 AS len,
           any_value(s.acc) AS acc, any_value(s.as_of) AS as_of
    FROM aw x JOIN sel s USING (alert_id) WHERE x.dir = 'out' AND x.kind IN {KINDS} AND x.cp IS NOT NULL
    GROUP BY x.alert_id, x.cp
    QUALIFY row_number() OVER (PARTITION BY x.alert_id ORDER BY sum(x.usd) DESC, x.cp) <= {CAP_PER_LEVEL})"""]
    for level in range(2, MAX_INTERMEDIARIES + 2):
        out.append(f"""cy{level} AS MATERIALIZED (
    SELECT p.alert_id, f.counterparty AS node, min(f.ts) AS t, least(any_value(p.u), sum(f.amount_usd)) AS u,
           any_value(p.u0) AS u0, list_append(p.path, f.counterparty) AS path, {level} AS len,
           any_value(p.acc) AS acc, any_value(p.as_of) AS as_of
    FROM cy{level - 1} p JOIN flows f ON f.entity = p.node AND f.ts >= p.t AND f.ts <= p.as_of
    WHERE p.node <> p.acc AND f.layer = 'exchange' AND f.direction = 'out' AND f.kind IN {KINDS}
      AND NOT list_contains(p.path, f.counterparty)
    GROUP BY p.alert_id, p.path, f.counterparty
    QUALIFY f.counterparty = any_value(p.acc)
         OR row_number() OVER (PARTITION BY p.alert_id ORDER BY least(any_value(p.u), sum(f.amount_usd)) DESC,
                               list_append(p.path, f.counterparty)) <= {CAP_PER_LEVEL})""")
    levels = " UNION ALL ".join(f"SELECT alert_id, node, acc, u, u0, len FROM cy{lv}"
                                for lv in range(2, MAX_INTERMEDIARIES + 2))
    out.append(f"""cy_closed AS (
    SELECT c.alert_id, least(1.0, coalesce(c.u / nullif(c.u0, 0), 0)) AS share, c.len
    FROM ({levels}) c WHERE c.node = c.acc)""")
    out.append("""g_cycles AS (
    SELECT s.alert_id, coalesce(b.share, 0) AS round_trip_return_share, coalesce(b.len, 0) AS round_trip_length,
           coalesce(b.n, 0) AS round_trip_count
    FROM sel s LEFT JOIN (SELECT alert_id, max(share) AS share, first(len ORDER BY share DESC, len) AS len, count(*) AS n
                          FROM cy_closed GROUP BY 1) b USING (alert_id))""")
    return out
