"""How quickly money that came in goes out again: pass-through, mules, layering.

Matching is first in, first out over the window's own movements: the window's inflows occupy
consecutive positions of a running USD total in arrival order, its outflows likewise; inflow i
counts as forwarded within H hours for the part of its positions that the outflows made in
[t_i, t_i + H] cover. So one withdrawal never pays two deposits, and a withdrawal made before a
deposit arrived never forwards it. Trades (a `self` row) are not movements.
"""

from __future__ import annotations

from tools.features.query import HORIZON_LONG_H, HORIZON_SHORT_H, HORIZON_WEEK_H, Query
from tools.features.registry import Feature

GROUP = "forwarding"
FEATURES = (
    Feature(f"forward_{HORIZON_SHORT_H}h_share", GROUP, "share",
            f"Share of window inflow USD sent out again within {HORIZON_SHORT_H} h (first in, first out): "
            "pass-through and mule accounts hold money for hours, not weeks."),
    Feature(f"forward_{HORIZON_LONG_H}h_share", GROUP, "share",
            f"Share of window inflow USD sent out again within {HORIZON_LONG_H} h (first in, first out)."),
    Feature(f"forward_{HORIZON_WEEK_H}h_share", GROUP, "share",
            f"Share of window inflow USD sent out again within {HORIZON_WEEK_H} h (a week; first in, first out): "
            "the same pass-through at a slower pace."),
    Feature("hours_to_next_out_log", GROUP, "log10(1+hours)",
            "Median over window inflows of the hours until the account's next outflow, log-scaled.",
            None, "no window inflow was followed by an outflow"),
)


def _forwarded(h: int) -> str:
    return f"""SELECT i.alert_id, i.usd,
           greatest(0, least(i.ci, coalesce(o.co, 0)) - greatest(i.ci - i.usd, coalesce(b.co, 0))) AS fwd
    FROM fw_in i
    ASOF LEFT JOIN fw_out o ON o.alert_id = i.alert_id AND i.ts + to_hours({h}) >= o.ts
    ASOF LEFT JOIN fw_out b ON b.alert_id = i.alert_id AND i.ts > b.ts"""


def ctes(q: Query) -> list[str]:
    return [
        """fw_in AS MATERIALIZED (
    SELECT alert_id, ts, usd, sum(usd) OVER (PARTITION BY alert_id ORDER BY ts, txn_id ROWS UNBOUNDED PRECEDING) AS ci
    FROM aw WHERE dir = 'in' AND usd > 0)""",
        """fw_out AS MATERIALIZED (
    SELECT alert_id, ts, sum(usd) OVER (PARTITION BY alert_id ORDER BY ts, txn_id ROWS UNBOUNDED PRECEDING) AS co
    FROM (SELECT alert_id, ts, txn_id, usd FROM aw WHERE dir = 'out' AND usd > 0))""",
        f"""fw_short AS ({_forwarded(HORIZON_SHORT_H)})""",
        f"""fw_long AS ({_forwarded(HORIZON_LONG_H)})""",
        f"""fw_week AS ({_forwarded(HORIZON_WEEK_H)})""",
        """fw_next AS (
    SELECT i.alert_id, median(epoch(n.ts - i.ts) / 3600) AS h
    FROM fw_in i ASOF JOIN (SELECT DISTINCT alert_id, ts FROM fw_out) n ON n.alert_id = i.alert_id AND n.ts >= i.ts
    GROUP BY i.alert_id)""",
        f"""g_forwarding AS (
    SELECT s.alert_id,
        coalesce(a.fwd / nullif(a.usd, 0), 0) AS forward_{HORIZON_SHORT_H}h_share,
        coalesce(b.fwd / nullif(b.usd, 0), 0) AS forward_{HORIZON_LONG_H}h_share,
        coalesce(c.fwd / nullif(c.usd, 0), 0) AS forward_{HORIZON_WEEK_H}h_share,
        log10(1 + n.h) AS hours_to_next_out_log
    FROM sel s
    LEFT JOIN (SELECT alert_id, sum(usd) AS usd, sum(fwd) AS fwd FROM fw_short GROUP BY 1) a USING (alert_id)
    LEFT JOIN (SELECT alert_id, sum(usd) AS usd, sum(fwd) AS fwd FROM fw_long GROUP BY 1) b USING (alert_id)
    LEFT JOIN (SELECT alert_id, sum(usd) AS usd, sum(fwd) AS fwd FROM fw_week GROUP BY 1) c USING (alert_id)
    LEFT JOIN fw_next n USING (alert_id))""",
    ]
