"""Planted rows and planted alerts, before ids are assigned.

Scenarios append plain tuples here; the writer merges them into the time-ordered background and
only then gives them their final `TX-...`/`P2P-...` ids, which are mapped back into alerts and
case files through the planted row keys (list positions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ts, kind, asset, amount, amount_usd, src, dst, chain, memo
TxnRow = tuple[int, str, str, float, float, str, str, str | None, str | None]
# ts, account_id, event, ip, device_id, country
LoginRow = tuple[int, str, str, str, str, str]
# ts, buyer, seller, asset, amount_usd, payment_method, status, third_party_payer, chat
OrderRow = tuple[int, str, str, str, float, str, str, bool, str | None]
# ts, chain, src, dst, asset, amount_usd
ChainRow = tuple[int, str, str, str, str, float]


@dataclass
class PlantedAlert:
    """One alert with its label; `txn_keys` fired the rule, `key_txn_keys` make the pattern."""

    account: int
    rule_id: str
    created_at: int
    txn_keys: list[int]
    facts: dict[str, Any]
    disposition: str
    typology: str
    key_txn_keys: list[int]
    related: list[int]
    actions: list[str]
    notes: str
    variant: str = ""


@dataclass
class Ledger:
    """Everything planted: rows for four tables, alerts, and the exposure ground truth."""

    txns: list[TxnRow] = field(default_factory=list)
    logins: list[LoginRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    chain: list[ChainRow] = field(default_factory=list)
    alerts: list[PlantedAlert] = field(default_factory=list)
    exposures: list[dict[str, Any]] = field(default_factory=list)

    def add_txn(self, row: TxnRow) -> int:
        """Append a transaction; the returned key becomes a txn_id at write time."""
        self.txns.append(row)
        return len(self.txns) - 1

    def add_order(self, row: OrderRow) -> int:
        """Append a P2P order; the returned key becomes an order_id at write time."""
        self.orders.append(row)
        return len(self.orders) - 1
