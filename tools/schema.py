"""The import contract (docs/import-format.md): tables, columns, types, enumerations and meanings.

One source of truth for the loader's validation, the generator's output and the schema text the
model sees. Columns not listed here are kept by the loader as extra columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACCOUNT_KINDS = ("individual", "business")
TXN_KINDS = (
    "fiat_deposit",
    "fiat_withdrawal",
    "crypto_deposit",
    "crypto_withdrawal",
    "internal_transfer",
    "p2p_trade",
    "trade",
)
ADDRESS_CATEGORIES = (
    "sanctioned", "mixer", "scam", "darknet", "exchange", "gambling", "defi", "ransomware", "phishing", "other",
)
RISKY_CATEGORIES = ("sanctioned", "mixer", "scam", "darknet", "ransomware", "phishing")
LOGIN_EVENTS = ("login", "logout", "password_change", "2fa_reset", "api_key_created", "email_change", "failed_login")
P2P_STATUSES = ("completed", "cancelled", "disputed", "chargeback", "open")
DISPOSITIONS = ("close", "escalate", "sar")
TYPOLOGIES = (
    "structuring", "pass_through", "mixer_exposure", "sanctions_exposure", "scam_proceeds", "scam_victim",
    "account_takeover", "mule_network", "p2p_fraud", "fan_in", "fan_out", "cycle", "scatter_gather",
    "gather_scatter", "bipartite", "stack", "none",
)
ACTIONS = (
    "close", "escalate_l2", "file_sar", "request_information", "contact_customer", "freeze_account",
    "restrict_p2p", "block_address", "offboard",
)
ACCOUNT_AFFECTING_ACTIONS = ("freeze_account", "restrict_p2p", "block_address", "offboard")


@dataclass(frozen=True)
class Column:
    """One column of the contract. `type` is a DuckDB type; `enum` lists the allowed values."""

    name: str
    type: str
    meaning: str
    required: bool = True
    enum: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Table:
    """One file of the import contract and the workspace table it becomes."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    required: bool = True
    key: str | None = None
    sort_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


C = Column
TABLES: tuple[Table, ...] = (
    Table(
        "accounts",
        "Customer accounts of the exchange with their KYC data",
        (
            C("account_id", "VARCHAR", "account id; any entity id found here is an exchange account"),
            C("kind", "VARCHAR", "individual or business", enum=ACCOUNT_KINDS),
            C("country", "VARCHAR", "ISO-2 country of KYC residence"),
            C("kyc_level", "INTEGER", "KYC verification level 0 (none) to 3 (enhanced)", min_value=0, max_value=3),
            C("registered_at", "TIMESTAMP", "when the account was opened"),
            C("occupation", "VARCHAR", "declared occupation or business activity", required=False),
            C("birth_year", "INTEGER", "year of birth of the individual", required=False),
            C("declared_income_usd", "DOUBLE", "declared yearly income or turnover in USD", required=False,
              min_value=0),
            C("risk_rating", "VARCHAR", "customer risk rating at onboarding (low/medium/high)", required=False),
        ),
        key="account_id",
        sort_by=("account_id",),
    ),
    Table(
        "transactions",
        "Every movement of value on the exchange: deposits, withdrawals, transfers, P2P and trades",
        (
            C("txn_id", "VARCHAR", "transaction id"),
            C("ts", "TIMESTAMP", "when it happened (UTC)"),
            C("kind", "VARCHAR", "fiat_deposit, fiat_withdrawal, crypto_deposit, crypto_withdrawal, "
              "internal_transfer, p2p_trade or trade", enum=TXN_KINDS),
            C("asset", "VARCHAR", "asset moved (USD, EUR, BTC, ETH, USDT, ...)"),
            C("amount", "DOUBLE", "amount in units of the asset", min_value=0),
            C("amount_usd", "DOUBLE", "value in USD at the time", min_value=0),
            C("src", "VARCHAR", "sender entity: account id, on-chain address or bank reference"),
            C("dst", "VARCHAR", "receiver entity: account id, on-chain address or bank reference"),
            C("chain", "VARCHAR", "blockchain for crypto movements (bitcoin, ethereum, tron, ...)", required=False),
            C("tx_hash", "VARCHAR", "on-chain transaction hash for crypto movements", required=False),
            C("memo", "VARCHAR", "free-text memo from the customer (untrusted)", required=False),
        ),
        key="txn_id",
        sort_by=("ts",),
    ),
    Table(
        "alerts",
        "Alerts raised by transaction-monitoring rules, the investigation queue",
        (
            C("alert_id", "VARCHAR", "alert id"),
            C("created_at", "TIMESTAMP", "when the rule fired"),
            C("account_id", "VARCHAR", "the account the alert is about"),
            C("rule_id", "VARCHAR", "id of the monitoring rule that fired"),
            C("description", "VARCHAR", "free-text alert description (untrusted)"),
            C("txn_ids", "VARCHAR", "transactions that fired the rule, separated by ';'", required=False),
            C("status", "VARCHAR", "queue status: open or closed", required=False, enum=("open", "closed")),
        ),
        key="alert_id",
        sort_by=("created_at",),
    ),
    Table(
        "addresses",
        "Labelled on-chain addresses from screening lists and chain analytics",
        (
            C("address", "VARCHAR", "on-chain address (EVM addresses compare case-insensitively)"),
            C("chain", "VARCHAR", "blockchain of the address"),
            C("category", "VARCHAR", "sanctioned, mixer, scam, darknet, exchange, gambling, defi, ...",
              enum=ADDRESS_CATEGORIES),
            C("source", "VARCHAR", "where the label comes from"),
            C("list_name", "VARCHAR", "name of the screening list", required=False),
            C("snapshot_date", "DATE", "date of the list snapshot", required=False),
            C("entity_name", "VARCHAR", "named owner of the address where known", required=False),
        ),
        required=False,
        sort_by=("address",),
    ),
    Table(
        "logins",
        "Login and security events with device, IP and country",
        (
            C("ts", "TIMESTAMP", "when the event happened"),
            C("account_id", "VARCHAR", "account"),
            C("event", "VARCHAR", "login, password_change, 2fa_reset, api_key_created, ...", enum=LOGIN_EVENTS),
            C("ip", "VARCHAR", "IP address"),
            C("device_id", "VARCHAR", "device fingerprint id"),
            C("country", "VARCHAR", "ISO-2 country of the IP"),
        ),
        required=False,
        sort_by=("account_id", "ts"),
    ),
    Table(
        "p2p_orders",
        "Peer-to-peer marketplace orders between customers",
        (
            C("order_id", "VARCHAR", "order id"),
            C("ts", "TIMESTAMP", "when the order was placed"),
            C("buyer", "VARCHAR", "buying account"),
            C("seller", "VARCHAR", "selling account"),
            C("asset", "VARCHAR", "crypto asset sold"),
            C("amount_usd", "DOUBLE", "order value in USD", min_value=0),
            C("payment_method", "VARCHAR", "fiat payment method (bank_transfer, card, cash, ...)"),
            C("status", "VARCHAR", "completed, cancelled, disputed, chargeback, open", enum=P2P_STATUSES),
            C("third_party_payer", "BOOLEAN", "fiat paid by someone other than the buyer", required=False),
            C("chat", "VARCHAR", "buyer/seller chat excerpt (untrusted)", required=False),
        ),
        required=False,
        key="order_id",
        sort_by=("ts",),
    ),
    Table(
        "chain_transfers",
        "On-chain movements between external addresses, from chain analytics (for indirect exposure)",
        (
            C("tx_hash", "VARCHAR", "on-chain transaction hash"),
            C("ts", "TIMESTAMP", "when it was mined"),
            C("chain", "VARCHAR", "blockchain"),
            C("src", "VARCHAR", "sending address"),
            C("dst", "VARCHAR", "receiving address"),
            C("asset", "VARCHAR", "asset moved"),
            C("amount_usd", "DOUBLE", "value in USD", min_value=0),
        ),
        required=False,
        sort_by=("src", "ts"),
    ),
)
del C

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
