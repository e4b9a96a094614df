"""Which accounts and transactions a decision implicates, read from the evidence that supports it.

The rules backend names, for the chosen typology, the evidence whose rows carry the scheme's other
members: the device cluster for a mule network, the loop for a cycle, the forwarding layers and
counterparty accounts for the graph shapes, the first on-chain hop for exposure. Only entities that
are exchange accounts (checked against the workspace) count as related accounts.
"""

from __future__ import annotations

import re
from typing import Any

from tools.db import Database

ACCOUNT_LIKE = re.compile(r"[A-Za-z0-9_.:-]+")
GRAPH_SHAPES = ("fan_in", "fan_out", "gather_scatter", "scatter_gather", "bipartite", "stack")

#: typology -> (tool, column) pairs whose cells name related entities
RELATED_SOURCES: dict[str, list[tuple[str, str]]] = {
    "mule_network": [("clusters", "account_id")],
    "cycle": [("cycles", "path")],
    **{t: [("flow_shape", "entities"), ("flow_shape", "detail")] for t in GRAPH_SHAPES},
}
#: typology -> (tool, column) pairs whose cells list implicated transaction ids
TXN_SOURCES: dict[str, list[tuple[str, str]]] = {
    "mule_network": [("clusters", "to_collector_txn_ids")],
    "cycle": [("cycles", "txn_ids")],
    "mixer_exposure": [("exposure", "first_hop_txn_ids")],
    "sanctions_exposure": [("exposure", "first_hop_txn_ids")],
    "scam_proceeds": [("exposure", "first_hop_txn_ids")],
    "scam_victim": [("exposure", "first_hop_txn_ids")],
}


def _cells(evidence: list[dict[str, Any]], tool: str, column: str) -> list[str]:
    out: list[str] = []
    for e in evidence:
        if e["tool"] != tool or e.get("error") or column not in e["columns"]:
            continue
        i = e["columns"].index(column)
        out += [str(r[i]) for r in e["rows"] if r[i] not in (None, "")]
    return out


def related_accounts(db: Database, evidence: list[dict[str, Any]], typology: str, subject: str,
                     limit: int = 25) -> list[str]:
    """Exchange accounts other than the subject that the typology's evidence names."""
    from tools.graph.common import accounts_among

    tokens: list[str] = []
    for tool, column in RELATED_SOURCES.get(typology, []):
        for cell in _cells(evidence, tool, column):
            tokens += ACCOUNT_LIKE.findall(cell)
    if typology in GRAPH_SHAPES:
        for e in evidence:
            if e["tool"] == "counterparties" and not e.get("error") and "is_account" in e["columns"]:
                i, j = e["columns"].index("counterparty"), e["columns"].index("is_account")
                tokens += [str(r[i]) for r in e["rows"] if r[j]]
    candidates = [t for t in dict.fromkeys(tokens) if t != subject]
    if not candidates:
        return []
    known = accounts_among(db, candidates)
    return [t for t in candidates if t in known][:limit]


def flagged_txns(evidence: list[dict[str, Any]], typology: str, alert_txn_ids: list[str]) -> list[str]:
    """The alert's triggering transactions plus those the typology's evidence implicates."""
    ids = list(alert_txn_ids)
    for tool, column in TXN_SOURCES.get(typology, []):
        for cell in _cells(evidence, tool, column):
            ids += [t for t in re.split(r"[;,\s]+", cell) if t]
    return list(dict.fromkeys(ids))
