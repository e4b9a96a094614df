"""The facts a restriction-lift review computes (agent/lift.py) and its playbook's conditions use.

Defined once here so `sleuth playbooks check` can hold `lift_conditions` to them, as it holds red
flags to tools/facts.py.
"""

from __future__ import annotations

LIFT_FACTS: dict[str, str] = {
    "restriction_found": "1 when an approved restriction (freeze, P2P restriction, blocked address) of the account "
                         "is on record, else 0",
    "restriction_is_sanctions": "1 when the restricting case's typology was sanctions exposure",
    "days_since_restriction": "days from the restricting case's alert to the workspace's latest activity",
    "new_txn_count": "transactions of the account since the restricting case's alert",
    "new_inflow_usd": "USD into the account since then",
    "new_outflow_usd": "USD out of the account since then",
    "new_risky_exposure_usd": "USD exchanged since then with sanctioned, mixer, scam or darknet addresses",
    "new_devices": "devices first seen on the account since then",
    "new_countries": "login countries first seen on the account since then",
    "security_events": "password changes, 2FA resets and API keys created since then",
    "kyc_level": "the account's KYC level now",
    "kyc_level_at_case": "the KYC level the restricting case recorded",
    "open_alerts": "alerts on the account still open in the queue, raised after the restricting case",
    "pending_actions": "account-affecting actions of other cases of the account still waiting for approval",
}
