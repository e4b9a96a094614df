"""Amounts against reporting thresholds: structuring and travel-rule avoidance, in relative terms.

Thresholds come from the jurisdiction profile (tools.settings.JurisdictionProfile); an amount is
compared in the threshold's currency (its native `transactions.amount` when the movement is in that
currency, else `amount_usd / usd_per_unit`). "Near" is the band [T * (1 - near_band), T). When the
profile has several thresholds of a kind, each feature reads the one the account's window sits
under most (most near-band deposits, then the most in any aggregation span, then the larger T).

The `round_band_*` features need no profile at all: the same measures against a grid of round
amounts (1, 1.5, 2, 2.5, 3, 5 and 7.5 x 10^k, 100 to 7.5 million, in the deposit's own currency),
so structuring under a threshold nobody configured still shows.
"""

from __future__ import annotations

from tools.features.query import Query
from tools.features.registry import Feature

GROUP = "thresholds"
ROUND_MANTISSAS = (1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 7.5)
ROUND_EXPONENTS = range(2, 7)

FEATURES = (
    Feature("near_threshold_count", GROUP, "count",
            "Window fiat deposits in the near band below a reporting threshold (e.g. 9,000-9,999 under 10,000 USD)."),
    Feature("near_threshold_share", GROUP, "share",
            "Near-band deposits / all window fiat deposits (0 without fiat deposits): a structurer's deposits "
            "are nearly all just under the line."),
    Feature("near_threshold_max_span", GROUP, "count",
            "Most near-band deposits within any aggregation span (profile, 14 days by default)."),
    Feature("near_threshold_span_sum_ratio", GROUP, "ratio",
            "Largest sum of near-band deposits within any aggregation span / the threshold: above 1 the split "
            "deposits together would have been reported."),
    Feature("over_threshold_count", GROUP, "count",
            "Window fiat deposits at or over that threshold (a structurer avoids them; a cash business does not)."),
    Feature("near_threshold_nothing_over", GROUP, "0/1",
            "1 when there are 2+ near-band deposits and none at or over the threshold in the window."),
    Feature("travel_rule_near_transfers", GROUP, "count",
            "Window crypto deposits and withdrawals in the near band below a travel-rule threshold "
            "(e.g. 900-999 under 1,000)."),
    Feature("travel_rule_near_share", GROUP, "share",
            "Those near-band crypto transfers / all window crypto deposits and withdrawals (0 without any)."),
    Feature("round_band_max_span", GROUP, "count",
            "Threshold-free structuring: most window fiat deposits within any aggregation span in the 10% band "
            "just below one round amount (1, 1.5, 2, 2.5, 3, 5, 7.5 x 10^k, in the deposit's currency)."),
    Feature("round_band_share", GROUP, "share",
            "Deposits in that best round band / all window fiat deposits (0 without fiat deposits)."),
    Feature("round_band_nothing_over", GROUP, "0/1",
            "1 when the best round band holds 2+ deposits and no window fiat deposit is at or over its round amount."),
)


def _thresholds_sql(q: Query) -> str:
    """The profile's thresholds and the round grid as one VALUES list (code-built from validated values)."""
    rows = [f"('profile', '{t.applies_to}', {float(t.amount)!r}, '{t.currency}', {float(t.usd_per_unit)!r})"
            for t in q.profile.thresholds]
    rows += [f"('round', 'fiat', {m * 10 ** e!r}, NULL, NULL)" for e in ROUND_EXPONENTS for m in ROUND_MANTISSAS]
    return "thr(family, applies, amount, currency, usd_per_unit) AS (VALUES " + ", ".join(rows) + ")"


def ctes(q: Query) -> list[str]:
    band, span = float(q.profile.near_band), int(q.profile.aggregation_days)
    return [
        _thresholds_sql(q),
        # window deposits (fiat) and crypto transfers with their native amount and currency
        # window fiat deposits with their native amount and currency (the join also matches on ts,
        # which lets DuckDB skip transactions' row groups outside the alerts' windows), and crypto
        # deposits and withdrawals in USD
        """t_moves AS MATERIALIZED (
    SELECT x.alert_id, x.ts, x.usd, t.amount, upper(t.asset) AS ccy, 'fiat' AS applies
    FROM aw x JOIN transactions t ON t.ts = x.ts AND t.txn_id = x.txn_id
    WHERE x.kind = 'fiat_deposit' AND x.dir = 'in'
    UNION ALL
    SELECT alert_id, ts, usd, usd, 'USD', 'crypto' FROM aw
    WHERE (kind = 'crypto_deposit' AND dir = 'in') OR (kind = 'crypto_withdrawal' AND dir = 'out'))""",
        """t_counts AS (
    SELECT alert_id, count(*) FILTER (applies = 'fiat') AS n_fiat, count(*) FILTER (applies = 'crypto') AS n_crypto
    FROM t_moves GROUP BY alert_id)""",
        f"""t_hits AS MATERIALIZED (
    SELECT alert_id, family, applies, t_amount, ts, value,
           value >= t_amount * (1 - {band!r}) AND value < t_amount AS near, value >= t_amount AS over
    FROM (SELECT m.alert_id, h.family, h.applies, h.amount AS t_amount, m.ts,
                 CASE WHEN h.family = 'round' OR m.ccy = h.currency THEN m.amount ELSE m.usd / h.usd_per_unit END AS value
          FROM t_moves m JOIN thr h ON h.applies = m.applies))""",
        f"""t_span AS (
    SELECT alert_id, family, applies, t_amount,
           max(n_span) AS max_span, max(usd_span) AS max_span_sum
    FROM (SELECT alert_id, family, applies, t_amount,
                 count(*) OVER w AS n_span, sum(value) OVER w AS usd_span
          FROM t_hits WHERE near
          WINDOW w AS (PARTITION BY alert_id, family, applies, t_amount ORDER BY ts
                       RANGE BETWEEN CURRENT ROW AND INTERVAL {span} DAYS FOLLOWING))
    GROUP BY ALL)""",
        """t_per AS (
    SELECT h.alert_id, h.family, h.applies, h.t_amount,
           count(*) FILTER (near) AS n_near, count(*) FILTER (over) AS n_over,
           coalesce(any_value(s.max_span), 0) AS max_span, coalesce(any_value(s.max_span_sum), 0) AS max_span_sum
    FROM t_hits h LEFT JOIN t_span s USING (alert_id, family, applies, t_amount)
    GROUP BY ALL)""",
        """t_best AS (
    SELECT alert_id, family, applies,
           first(struct_pack(n_near, n_over, max_span, max_span_sum, t_amount)
                 ORDER BY n_near DESC, max_span DESC, t_amount DESC, n_over, max_span_sum DESC) AS b
    FROM t_per GROUP BY ALL)""",
        """g_thresholds AS (
    SELECT s.alert_id,
        coalesce(pf.b.n_near, 0) AS near_threshold_count,
        CASE WHEN c.n_fiat > 0 THEN coalesce(pf.b.n_near, 0) / c.n_fiat ELSE 0 END AS near_threshold_share,
        coalesce(pf.b.max_span, 0) AS near_threshold_max_span,
        coalesce(pf.b.max_span_sum / pf.b.t_amount, 0) AS near_threshold_span_sum_ratio,
        coalesce(pf.b.n_over, 0) AS over_threshold_count,
        CASE WHEN pf.b.n_near >= 2 AND pf.b.n_over = 0 THEN 1 ELSE 0 END AS near_threshold_nothing_over,
        coalesce(pc.b.n_near, 0) AS travel_rule_near_transfers,
        CASE WHEN c.n_crypto > 0 THEN coalesce(pc.b.n_near, 0) / c.n_crypto ELSE 0 END AS travel_rule_near_share,
        coalesce(rf.b.max_span, 0) AS round_band_max_span,
        CASE WHEN c.n_fiat > 0 THEN coalesce(rf.b.n_near, 0) / c.n_fiat ELSE 0 END AS round_band_share,
        CASE WHEN rf.b.n_near >= 2 AND rf.b.n_over = 0 THEN 1 ELSE 0 END AS round_band_nothing_over
    FROM sel s LEFT JOIN t_counts c USING (alert_id)
    LEFT JOIN t_best pf ON pf.alert_id = s.alert_id AND pf.family = 'profile' AND pf.applies = 'fiat'
    LEFT JOIN t_best pc ON pc.alert_id = s.alert_id AND pc.family = 'profile' AND pc.applies = 'crypto'
    LEFT JOIN t_best rf ON rf.alert_id = s.alert_id AND rf.family = 'round' AND rf.applies = 'fiat')""",
    ]
