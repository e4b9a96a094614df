"""What a filing says, gathered once from the case report and the workspace.

Both formats (goAML, FinCEN SAR) are renderings of these facts, so a report filed in either says the
same thing about the subject, the transactions and the period. Read-only: it queries the workspace
with bound parameters, never the labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.report import CaseReport
from tools.db import Database

TXN_COLUMNS = ("txn_id", "ts", "kind", "asset", "amount", "amount_usd", "src", "dst", "chain", "tx_hash")
NAME_COLUMNS = ("first_name", "last_name", "name")  # optional KYC columns of the import contract


@dataclass
class Party:
    """One side of a transaction: an account of ours, an on-chain address, or a bank reference."""

    id: str
    kind: str  # "client" (an exchange account), "address" or "bank"
    label: str = ""  # a screening label or entity name, where the workspace has one
    chain: str = ""


@dataclass
class FilingFacts:
    """The subject, the transactions and the decision a filing reports."""

    case_id: str
    account_id: str
    typology: str
    disposition: str
    risk_score: int
    narrative: str
    rationale: str
    alert: dict[str, Any]
    subject: dict[str, Any] | None
    transactions: list[dict[str, Any]] = field(default_factory=list)
    parties: dict[str, Party] = field(default_factory=dict)
    missing_txns: list[str] = field(default_factory=list)
    ips: list[tuple[str, datetime]] = field(default_factory=list)
    related_accounts: list[str] = field(default_factory=list)

    @property
    def total_usd(self) -> float:
        return round(sum(float(t["amount_usd"] or 0) for t in self.transactions), 2)

    @property
    def period(self) -> tuple[datetime, datetime] | None:
        stamps = [t["ts"] for t in self.transactions]
        return (min(stamps), max(stamps)) if stamps else None

    def subject_name(self) -> tuple[str, str] | None:
        """(first, last) when the workspace holds the subject's name (optional KYC columns)."""
        s = self.subject or {}
        if s.get("first_name") and s.get("last_name"):
            return str(s["first_name"]), str(s["last_name"])
        return None


def gather(db: Database, report: CaseReport) -> FilingFacts:
    """The filing facts of a stored case."""
    account_id = str(report.alert.get("account_id", ""))
    facts = FilingFacts(report.case_id, account_id, report.decision.typology, report.decision.disposition,
                        report.decision.risk_score, report.narrative, report.decision.rationale, report.alert,
                        _account(db, account_id), related_accounts=list(report.decision.related_accounts))
    ids = list(dict.fromkeys(report.decision.flagged_txn_ids))
    if ids:
        res = db.execute(f"SELECT {', '.join(TXN_COLUMNS)} FROM transactions WHERE txn_id IN "
                         f"(SELECT unnest(?::VARCHAR[])) ORDER BY ts, txn_id", [ids])
        facts.transactions = [dict(zip(res.columns, r, strict=True)) for r in res.rows]
        found = {t["txn_id"] for t in facts.transactions}
        facts.missing_txns = [i for i in ids if i not in found]
    facts.parties = _parties(db, facts.transactions)
    if facts.period and _has_table(db, "logins"):
        start, end = facts.period
        res = db.execute("SELECT ip, min(ts) FROM logins WHERE account_id = ? AND ts BETWEEN ? AND ? "
                         "GROUP BY ip ORDER BY 2, 1 LIMIT 99", [account_id, start, end])
        facts.ips = [(str(ip), ts) for ip, ts in res.rows if ip]
    return facts


def _has_table(db: Database, name: str) -> bool:
    return bool(db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))


def _account(db: Database, account_id: str) -> dict[str, Any] | None:
    res = db.execute("SELECT * FROM accounts WHERE account_id = ?", [account_id])
    return dict(zip(res.columns, res.rows[0], strict=True)) if res.rows else None


def _parties(db: Database, txns: list[dict[str, Any]]) -> dict[str, Party]:
    """Classify every src/dst: exchange account, labelled or unlabelled address, or bank reference."""
    ids = sorted({str(t[side]) for t in txns for side in ("src", "dst") if t[side]})
    if not ids:
        return {}
    res = db.execute("SELECT account_id FROM accounts WHERE account_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    clients = {r[0] for r in res.rows}
    labels: dict[str, str] = {}
    if _has_table(db, "addresses"):
        res = db.execute("SELECT lower(address), coalesce(entity_name, list_name, category) FROM addresses "
                         "WHERE lower(address) IN (SELECT lower(unnest(?::VARCHAR[])))", [ids])
        labels = {a: str(lbl) for a, lbl in res.rows}
    chains = {str(t[side]): str(t["chain"] or "") for t in txns for side in ("src", "dst") if t[side]}
    out = {}
    for i in ids:
        if i in clients:
            out[i] = Party(i, "client")
        elif chains.get(i):
            out[i] = Party(i, "address", labels.get(i.lower(), ""), chains[i])
        else:
            out[i] = Party(i, "bank")
    return out
