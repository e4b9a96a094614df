"""Expected actions per (disposition, typology): the labelling policy of the case files.

- close    -> [close]
- escalate -> [escalate_l2, request_information]: red flags but not conclusive, so L2 reviews and the
  customer is asked to explain (source of funds, purpose of the transfers).
- sar      -> [file_sar, escalate_l2] plus the account actions that stop further harm:
  * value still moving through the account (pass_through, the AMLSim graph shapes, scam_proceeds):
    freeze_account, so the remaining balance cannot leave while the report is handled;
  * structuring: request_information (funds came in as fiat from the customer's own bank; the
    exchange asks for source of funds rather than freezing for amounts below the threshold);
  * sanctions_exposure / mixer_exposure: block_address (the listed counterparty) + freeze_account;
  * scam_proceeds additionally block_address (the scam-linked deposit addresses);
  * scam_victim: contact_customer (warn the victim) + block_address (the scam payout address);
  * account_takeover: freeze_account + contact_customer (reach the real owner out of band);
  * mule_network: freeze_account + offboard (accounts opened to launder are exited);
  * p2p_fraud: restrict_p2p (take the account off the marketplace).
"""

from __future__ import annotations

from tools.schema import ACTIONS, DISPOSITIONS, TYPOLOGIES

GRAPH_SHAPES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite", "stack")

SAR_EXTRA: dict[str, tuple[str, ...]] = {
    "structuring": ("request_information",),
    "pass_through": ("freeze_account",),
    "mixer_exposure": ("block_address", "freeze_account"),
    "sanctions_exposure": ("block_address", "freeze_account"),
    "scam_proceeds": ("freeze_account", "block_address"),
    "scam_victim": ("contact_customer", "block_address"),
    "account_takeover": ("freeze_account", "contact_customer"),
    "mule_network": ("freeze_account", "offboard"),
    "p2p_fraud": ("restrict_p2p",),
    **{g: ("freeze_account",) for g in GRAPH_SHAPES},
}


def expected_actions(disposition: str, typology: str) -> list[str]:
    """The actions a reviewer following the playbooks should recommend for this case."""
    assert disposition in DISPOSITIONS and typology in TYPOLOGIES, (disposition, typology)
    if disposition == "close":
        out = ["close"]
    elif disposition == "escalate":
        out = ["escalate_l2", "request_information"]
    else:
        out = ["file_sar", "escalate_l2", *SAR_EXTRA[typology]]
    assert all(a in ACTIONS for a in out)
    return out
