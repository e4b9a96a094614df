"""Feature groups, each a small module with FEATURES and `ctes(query)`.

Every module's last CTE is `g_<group>` with `alert_id` and one column per feature of the group,
named as the feature. GROUPS fixes the order of the feature vector.
"""

from __future__ import annotations

from tools.features.groups import (
    access,
    account,
    counterparties,
    cycles,
    devices,
    exposure,
    forwarding,
    network,
    p2p,
    thresholds,
    velocity,
)

GROUPS = (account, velocity, thresholds, forwarding, counterparties, network, cycles, exposure, devices, access, p2p)
