"""Who the customer is: account age, KYC, kind, age, declared income against the window's inflow."""

from __future__ import annotations

from tools.features.query import NEW_ACCOUNT_DAYS, Query
from tools.features.registry import Feature

GROUP = "account"
FEATURES = (
    Feature("account_tenure_days", GROUP, "days",
            "Days from registration to the alert. Mules, pass-through and P2P fraud use fresh accounts; "
            "long tenure with the same pattern is a mitigating history.",
            None, "registration time unknown"),
    Feature("kyc_tier", GROUP, "level 0-3",
            "KYC verification level: low KYC with large flows is a red flag for mules and pass-through.",
            None, "KYC level unknown"),
    Feature("business_account", GROUP, "0/1",
            "1 for a business account: merchants, payroll and OTC desks explain many counterparties."),
    Feature("customer_age_years", GROUP, "years",
            "Age of an individual customer at the alert: elderly customers are the usual scam victims.",
            None, "a business, or birth year unknown"),
    Feature("new_low_kyc_account", GROUP, "0/1",
            f"1 when the account is younger than {NEW_ACCOUNT_DAYS} days and KYC <= 1: the profile of a "
            "throw-away mule or fraud account."),
    Feature("inflow_income_multiple", GROUP, "ratio",
            "Window inflow USD annualised (x 365 / window days) over declared yearly income or turnover: "
            "money far above what the customer says they earn.",
            None, "no declared income"),
    Feature("prior_alert_count", GROUP, "count",
            "Alerts on the account created before this one (any rule): repeated alerts accumulate suspicion."),
)


def ctes(q: Query) -> list[str]:
    return [f"""g_account AS (
    SELECT c.alert_id,
        epoch(c.as_of - c.registered_at) / 86400 AS account_tenure_days,
        c.kyc_level AS kyc_tier,
        CASE WHEN c.kind = 'business' THEN 1 ELSE 0 END AS business_account,
        CASE WHEN c.kind <> 'business' AND c.birth_year IS NOT NULL THEN year(c.as_of) - c.birth_year END
            AS customer_age_years,
        CASE WHEN c.as_of - c.registered_at < to_days({NEW_ACCOUNT_DAYS}) AND c.kyc_level <= 1 THEN 1 ELSE 0 END
            AS new_low_kyc_account,
        CASE WHEN c.declared_income_usd > 0 THEN
            (SELECT coalesce(sum(usd), 0) FROM aw WHERE aw.alert_id = c.alert_id AND aw.dir = 'in')
            * 365.0 / {q.window_days} / c.declared_income_usd END AS inflow_income_multiple,
        (SELECT count(*) FROM alerts p WHERE p.account_id = s.acc_raw AND p.created_at < s.as_of
            AND p.alert_id <> s.alert_id) AS prior_alert_count
    FROM acct c JOIN sel s USING (alert_id))"""]
