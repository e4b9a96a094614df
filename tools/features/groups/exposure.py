"""Reach to labelled addresses: direct and through on-chain hops, as the exposure tool walks.

From the account's window crypto withdrawals forward ("sent to") and its window crypto deposits
backward ("received from"), then on-chain only (`flows.layer = 'chain'`, from chain_transfers),
time-ordered (forward: at or after funds reached the node; backward: at or before they left it),
up to MAX_HOPS hops (1 = the direct counterparty). A walk stops at a risky or exchange-labelled
address (beyond a custodial exchange hops mean nothing). The USD that can have reached an address
is the smallest edge on the path; per first-hop address the best path counts once, and a share
divides by the window's crypto deposits plus withdrawals. Each hop keeps CAP_PER_HOP strongest
nodes per alert and direction (the tool keeps 100).
"""

from __future__ import annotations

from tools.features.query import MAX_HOPS, Query
from tools.features.registry import Feature
from tools.schema import RISKY_CATEGORIES

GROUP = "exposure"
CAP_PER_HOP = 100
NONE_HOPS = 99
CATEGORY_GROUPS = {
    "sanctioned": ("sanctioned",),
    "mixer": ("mixer",),
    "scam": ("scam", "phishing"),
    "risky": RISKY_CATEGORIES,
}
_WHAT = {"sanctioned": "a sanctioned address", "mixer": "a mixer", "scam": "a scam or phishing address",
         "risky": f"any risky category ({', '.join(RISKY_CATEGORIES)})"}


def _features() -> tuple[Feature, ...]:
    out = []
    for g in CATEGORY_GROUPS:
        out.append(Feature(f"{g}_hops", GROUP, "hops",
                           f"Fewest hops from the account's window crypto flows to {_WHAT[g]} (1 = direct "
                           f"counterparty; {NONE_HOPS} = none within {MAX_HOPS}).", float(NONE_HOPS)))
        out.append(Feature(f"{g}_reach_share", GROUP, "share",
                           f"Share of the window's crypto deposits + withdrawals USD that can have reached {_WHAT[g]} "
                           f"within {MAX_HOPS} hops (0 without crypto flow)."))
    out += [
        Feature("risky_direct_share", GROUP, "share",
                "Share of window crypto USD whose direct counterparty is labelled risky (0 without crypto flow)."),
        Feature("scam_linked_sender_count", GROUP, "count",
                "Distinct addresses that sent the account crypto in the window and are within 2 hops of a scam "
                "or phishing address: scam proceeds gathered from victims."),
        Feature("scam_linked_sender_share", GROUP, "share",
                "scam_linked_sender_count / distinct window crypto sending addresses (0 without)."),
        Feature("exchange_withdrawal_share", GROUP, "share",
                "Share of window crypto withdrawal USD sent to exchange-labelled addresses (an own account "
                "elsewhere; 0 without withdrawals)."),
    ]
    return tuple(out)


FEATURES = _features()


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def ctes(q: Query) -> list[str]:
    stop = _list((*RISKY_CATEGORIES, "exchange"))
    out = [
        """ex_lab AS MATERIALIZED (
    SELECT address_norm AS node, list(DISTINCT category) AS cats FROM addresses
    WHERE address_norm IS NOT NULL GROUP BY 1)""",
        """ex1 AS MATERIALIZED (
    SELECT alert_id, dir AS d, cp AS first, cp AS node, CASE WHEN dir = 'out' THEN min(ts) ELSE max(ts) END AS t,
           sum(usd) AS u, 1 AS hop
    FROM aw WHERE ((kind = 'crypto_withdrawal' AND dir = 'out') OR (kind = 'crypto_deposit' AND dir = 'in'))
      AND cp IS NOT NULL
    GROUP BY alert_id, dir, cp)""",
    ]
    for hop in range(2, MAX_HOPS + 1):
        out.append(f"""ex{hop} AS MATERIALIZED (
    SELECT p.alert_id, p.d, p.first, f.counterparty AS node,
           CASE WHEN p.d = 'out' THEN min(f.ts) ELSE max(f.ts) END AS t,
           least(max(p.u), sum(f.amount_usd)) AS u, {hop} AS hop
    FROM ex{hop - 1} p LEFT JOIN ex_lab l ON l.node = p.node JOIN flows f ON f.entity = p.node
    WHERE f.layer = 'chain' AND f.direction = p.d AND f.counterparty <> f.entity
      AND ((p.d = 'out' AND f.ts >= p.t) OR (p.d = 'in' AND f.ts <= p.t))
      AND NOT coalesce(list_has_any(l.cats, {stop}), FALSE)
    GROUP BY p.alert_id, p.d, p.first, f.counterparty
    QUALIFY row_number() OVER (PARTITION BY p.alert_id, p.d ORDER BY least(max(p.u), sum(f.amount_usd)) DESC,
                               p.first, f.counterparty) <= {CAP_PER_HOP})""")
    levels = " UNION ALL ".join(f"SELECT alert_id, d, first, node, u, hop FROM ex{h}" for h in range(1, MAX_HOPS + 1))
    out.append(f"""ex_hits AS MATERIALIZED (
    SELECT r.alert_id, r.d, r.first, r.u, r.hop, l.cats FROM ({levels}) r JOIN ex_lab l ON l.node = r.node)""")
    out.append("""ex_total AS (
    SELECT alert_id, sum(u) AS total, sum(u) FILTER (d = 'out') AS total_out,
           count(*) FILTER (d = 'in') AS n_senders
    FROM ex1 GROUP BY 1)""")
    cols, joins = [], []
    for g, cats in CATEGORY_GROUPS.items():
        cols.append(f"coalesce(h_{g}.hops, {NONE_HOPS}) AS {g}_hops")
        cols.append(f"least(1.0, coalesce(h_{g}.usd / nullif(t.total, 0), 0)) AS {g}_reach_share")
        joins.append(f"""LEFT JOIN (SELECT alert_id, min(hop) AS hops, sum(u) AS usd FROM (
        SELECT alert_id, d, first, min(hop) AS hop, max(u) AS u FROM ex_hits WHERE list_has_any(cats, {_list(cats)})
        GROUP BY ALL) GROUP BY 1) h_{g} USING (alert_id)""")
    risky = _list(RISKY_CATEGORIES)
    out.append(f"""ex_direct AS (
    SELECT alert_id,
           sum(u) FILTER (list_has_any(cats, {risky})) AS risky_usd,
           sum(u) FILTER (d = 'out' AND list_contains(cats, 'exchange')) AS exchange_usd
    FROM ex_hits WHERE hop = 1 GROUP BY 1)""")
    out.append(f"""ex_scam_senders AS (
    SELECT alert_id, count(DISTINCT first) AS n FROM ex_hits
    WHERE d = 'in' AND hop <= 2 AND list_has_any(cats, {_list(CATEGORY_GROUPS['scam'])}) GROUP BY 1)""")
    out.append(f"""g_exposure AS (
    SELECT s.alert_id, {', '.join(cols)},
        least(1.0, coalesce(dr.risky_usd / nullif(t.total, 0), 0)) AS risky_direct_share,
        coalesce(ss.n, 0) AS scam_linked_sender_count,
        coalesce(ss.n / nullif(t.n_senders, 0), 0) AS scam_linked_sender_share,
        least(1.0, coalesce(dr.exchange_usd / nullif(t.total_out, 0), 0)) AS exchange_withdrawal_share
    FROM sel s LEFT JOIN ex_total t USING (alert_id) LEFT JOIN ex_direct dr USING (alert_id)
    LEFT JOIN ex_scam_senders ss USING (alert_id)
    {' '.join(joins)})""")
    return out
