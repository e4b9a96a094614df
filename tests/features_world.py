"""Hand-made workspaces for the feature-store tests: a few rows per table, laid out as the loader
lays them out (every contract table, `flows`, `p2p_sides`, `addresses.address_norm`), in memory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tools.data.layout import create_empty_sql, create_flows_sql, create_p2p_sides_sql, norm_sql
from tools.schema import TABLES

T0 = dt.datetime(2026, 6, 1)


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    """A time `days` + `hours` after T0 (negative: before)."""
    return T0 + dt.timedelta(days=days, hours=hours)


@dataclass
class World:
    """Rows for each contract table; `build()` returns an in-memory DuckDB workspace."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t.name: [] for t in TABLES})
    _n: int = 0

    def account(self, account_id: str, kind: str = "individual", country: str = "US", kyc: int = 2,
                registered: dt.datetime = at(-400), birth_year: int | None = 1980,
                income: float | None = 60_000.0) -> str:
        self.rows["accounts"].append((account_id, kind, country, kyc, registered, None, birth_year, income, None))
        return account_id

    def txn(self, ts: dt.datetime, kind: str, src: str, dst: str, usd: float, asset: str = "USD",
            amount: float | None = None) -> str:
        self._n += 1
        txn_id = f"TX-{self._n:05d}"
        self.rows["transactions"].append((txn_id, ts, kind, asset, usd if amount is None else amount, usd, src, dst,
                                          None, None, None))
        return txn_id

    def alert(self, alert_id: str, account_id: str, created_at: dt.datetime, rule_id: str = "R-1",
              description: str = "an alert") -> str:
        self.rows["alerts"].append((alert_id, created_at, account_id, rule_id, description, None, "open"))
        return alert_id

    def login(self, ts: dt.datetime, account_id: str, device: str, ip: str, country: str = "US",
              event: str = "login") -> None:
        self.rows["logins"].append((ts, account_id, event, ip, device, country))

    def p2p(self, ts: dt.datetime, buyer: str, seller: str, usd: float, status: str = "completed",
            third_party: bool = False) -> None:
        self._n += 1
        self.rows["p2p_orders"].append((f"P2P-{self._n:05d}", ts, buyer, seller, "USDT", usd, "bank_transfer", status,
                                        third_party, None))

    def chain(self, ts: dt.datetime, src: str, dst: str, usd: float) -> None:
        self._n += 1
        self.rows["chain_transfers"].append((f"0xhash{self._n:05d}", ts, "ethereum", src, dst, "ETH", usd))

    def address(self, address: str, category: str) -> None:
        self.rows["addresses"].append((address, "ethereum", category, "test", "test list", None, None))

    def build(self, path: str = ":memory:") -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(path)
        con.execute("SET TimeZone = 'UTC'")
        for table in TABLES:
            con.execute(create_empty_sql(table))
            for row in self.rows[table.name]:
                if table.name == "addresses":
                    marks = ", ".join("?" for _ in row)
                    con.execute(f"INSERT INTO addresses SELECT *, {norm_sql('address')} FROM (VALUES ({marks})) "
                                "AS v(address, chain, category, source, list_name, snapshot_date, entity_name)",
                                list(row))
                else:
                    con.execute(f"INSERT INTO {table.name} VALUES ({', '.join('?' for _ in row)})", list(row))
        con.execute(create_flows_sql())
        con.execute(create_p2p_sides_sql())
        return con


def features_of(con: duckdb.DuckDBPyConnection, alert_id: str, **kw: Any) -> dict[str, float | None]:
    """One alert's features through the batch statement (all alerts), as a dict."""
    from tools.features import compute_features

    rows = compute_features(con, **kw).to_pylist()
    return next(r for r in rows if r["alert_id"] == alert_id)
