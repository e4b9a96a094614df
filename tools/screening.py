"""Screening of on-chain addresses against the labelled address lists (direct hits only).

EVM addresses (0x + 40 hex) are compared lower-cased because their mixed case is only a checksum;
Bitcoin-style addresses (base58, bech32, Tron, ...) are compared exactly because case is part of the
address. Every hit carries its list name, category, source and the list's snapshot date: a hit is
only as fresh as its list, and the reader must be able to say so. Indirect exposure (hops through
other addresses) is the `exposure` tool's job, not this one's.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable
from typing import Any

from tools.alerts import account_exists, resolve_as_of
from tools.db import Database
from tools.errors import InputInvalid, NotFound
from tools.evidence import Evidence, EvidenceLedger
from tools.introspect import small_table, table_columns
from tools.schema import RISKY_CATEGORIES

EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
SANCTIONS_WORDS = ("sanction", "ofac", "sdn")
HIT_COLUMNS = ["address", "listed_address", "chain", "category", "list_name", "source", "snapshot_date",
               "entity_name"]
MAX_ADDRESSES = 10_000


def normalize_address(address: str) -> str:
    """The form addresses are compared in: lower-case for EVM, unchanged otherwise."""
    address = address.strip()
    return address.lower() if EVM_ADDRESS.match(address) else address


def address_norm_sql(db: Database, alias: str = "a") -> str:
    """SQL for the normalised address of an `addresses` row (the loader's column when present)."""
    if "address_norm" in table_columns(db, "addresses"):
        return f"{alias}.address_norm"
    col = f"{alias}.address"
    return f"CASE WHEN regexp_full_match({col}, '0x[0-9a-fA-F]{{40}}') THEN lower({col}) ELSE {col} END"


def _optional(cols: frozenset[str], name: str, cast: str = "VARCHAR") -> str:
    return f"a.{name}" if name in cols else f"CAST(NULL AS {cast})"


IN_LIST_MAX = 500


def _hits_sql(db: Database, n: int | None) -> str:
    """SELECT of list rows naming any of `n` normalised addresses (every row for None).

    Up to IN_LIST_MAX addresses go as an IN list, which DuckDB pushes into the scan (zone maps skip
    row groups of a large label table); longer lists join against an unnested array parameter.
    """
    cols = table_columns(db, "addresses")
    norm = address_norm_sql(db)
    if n is None:
        where = ""
    else:
        wanted = f"IN ({', '.join('?' for _ in range(n))})" if n <= IN_LIST_MAX else "IN (SELECT unnest(?::VARCHAR[]))"
        where = f"WHERE {norm} {wanted} "
    return (
        f"SELECT {norm} AS norm, a.address, a.chain, a.category, "
        f"{_optional(cols, 'list_name')}, a.source, {_optional(cols, 'snapshot_date', 'DATE')}, "
        f"{_optional(cols, 'entity_name')} "
        f"FROM addresses a {where}ORDER BY norm, a.category, a.source"
    )


def is_sanctions_hit(category: str | None, list_name: str | None, source: str | None) -> bool:
    """A hit counts as sanctions when its category says so or its list is a sanctions list (OFAC)."""
    if (category or "").lower() == "sanctioned":
        return True
    text = f"{list_name or ''} {source or ''}".lower()
    return any(word in text for word in SANCTIONS_WORDS)


def _snapshot(value: Any) -> str:
    """The snapshot date as text; 'unknown' when the list did not say (never silently blank)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value) if value else "unknown"


def match_addresses(db: Database, addresses: Iterable[str]) -> tuple[str, dict[str, list[list[Any]]]]:
    """Normalised address -> list rows that name it (list_name falls back to the source).

    Returns the SQL too, for the evidence record.
    """
    norms = sorted({normalize_address(a) for a in addresses if a and a.strip()})
    if not norms or not table_columns(db, "addresses"):
        return "", {}
    sql = _hits_sql(db, len(norms))
    held = small_table(db, "addresses", lambda: _list_rows(db.execute(_hits_sql(db, None)).rows), view="screening")
    if held is not None:  # a small screening table, read once: the same rows in the same order
        return sql, {n: held[n] for n in norms if n in held}
    return sql, _list_rows(db.execute(sql, norms if len(norms) <= IN_LIST_MAX else [norms]).rows)


def _list_rows(rows: list[tuple[Any, ...]]) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {}
    for norm, address, chain, category, list_name, source, snapshot, entity in rows:
        found.setdefault(norm, []).append(
            [address, chain, category, list_name or source, source, _snapshot(snapshot), entity])
    return found


def is_adverse_hit(category: str | None, list_name: str | None, source: str | None) -> bool:
    """A risky label (sanctioned, mixer, scam, phishing, ...) as opposed to context like `exchange`."""
    return (category or "").lower() in RISKY_CATEGORIES or is_sanctions_hit(category, list_name, source)


def _count_facts(hits: dict[str, list[list[Any]]]) -> dict[str, int]:
    """Facts count adverse hits only: an exchange or defi label is shown but is not a red flag."""
    adverse = sum(1 for rows in hits.values() if any(is_adverse_hit(r[2], r[3], r[4]) for r in rows))
    sanctioned = sum(1 for rows in hits.values() if any(is_sanctions_hit(r[2], r[3], r[4]) for r in rows))
    return {"screening_hits": adverse, "sanctioned_hits": sanctioned}


def _describe_hits(hits: dict[str, list[list[Any]]]) -> str:
    parts = []
    for norm, rows in hits.items():
        labels = "; ".join(f"{r[2]} on {r[3]} (source {r[4]}, snapshot {r[5]})" for r in rows)
        parts.append(f"{norm}: {labels}")
    return " | ".join(parts)


def screen(db: Database, ledger: EvidenceLedger, addresses: list[str]) -> Evidence:
    """Screen on-chain addresses against the labelled lists (sanctions, mixers, scams, exchanges...).

    Returns every direct hit with its list name, category, source and the list's snapshot date.
    EVM addresses match case-insensitively, Bitcoin-style addresses exactly. Facts: screening_hits
    (addresses with an adverse label: sanctioned, mixer, scam, phishing, darknet, ransomware; an
    `exchange` or `defi` label is listed but not counted), sanctioned_hits (on a sanctions list).
    """
    start = time.perf_counter()
    wanted = [a.strip() for a in addresses if a and a.strip()]
    if not wanted:
        raise InputInvalid("give at least one address to screen")
    if len(wanted) > MAX_ADDRESSES:
        raise InputInvalid(f"at most {MAX_ADDRESSES} addresses per screening call, got {len(wanted)}")
    sql, hits = match_addresses(db, wanted)
    rows = []
    for addr in dict.fromkeys(wanted):
        rows += [[addr, *hit] for hit in hits.get(normalize_address(addr), [])]
    facts = _count_facts(hits)
    distinct = len({normalize_address(a) for a in wanted})
    if not table_columns(db, "addresses"):
        summary = f"Screened {distinct} address(es): the workspace has no labelled address lists, nothing to match."
    elif hits:
        summary = (f"Screened {distinct} address(es): {len(hits)} labelled, {facts['screening_hits']} adverse, "
                   f"{facts['sanctioned_hits']} on a sanctions list. {_describe_hits(hits)}")
    else:
        summary = f"Screened {distinct} address(es): no direct hit on any labelled list."
    return ledger.record(
        "screening", {"addresses": wanted}, query=sql or None, columns=HIT_COLUMNS, rows=rows, facts=facts,
        summary=summary, elapsed_ms=(time.perf_counter() - start) * 1000,
    )


COUNTERPARTY_COLUMNS = ["address", "direction", "chain", "txns", "usd", "first_ts", "last_ts", "category",
                        "list_name", "source", "snapshot_date", "entity_name"]


def screen_counterparties(db: Database, ledger: EvidenceLedger, account_id: str,
                          as_of: dt.datetime | None = None, window_days: int = 30) -> Evidence:
    """Screen every external on-chain address the account sent to or received from in the window.

    The window is the `window_days` days up to `as_of` (inclusive). Direct hits only: an address
    that reaches a listed one through other addresses is found by the `exposure` tool.
    """
    start = time.perf_counter()
    if not account_exists(db, account_id):
        raise NotFound(f"no account {account_id} in the workspace")
    as_of = resolve_as_of(db, as_of)
    window_start = as_of - dt.timedelta(days=window_days)
    sql = (
        "SELECT counterparty, direction, any_value(chain), count(*), sum(amount_usd), min(ts), max(ts) "
        "FROM flows WHERE entity = ? AND layer = 'exchange' AND ts >= ? AND ts <= ? "
        "AND kind IN ('crypto_deposit', 'crypto_withdrawal') "
        "GROUP BY counterparty, direction ORDER BY sum(amount_usd) DESC"
    )
    seen = db.execute(sql, [account_id, window_start, as_of]).rows
    hits_sql, hits = match_addresses(db, (r[0] for r in seen))
    rows = [[*r[:4], round(r[4] or 0.0, 2), r[5], r[6], *hit[2:]]
            for r in seen for hit in hits.get(normalize_address(r[0]), [])]
    facts = _count_facts(hits)
    distinct = len({r[0] for r in seen})
    period = f"{window_start:%Y-%m-%d %H:%M} to {as_of:%Y-%m-%d %H:%M}"
    if hits:
        summary = (f"{account_id}: screened {distinct} external address(es) dealt with from {period}: "
                   f"{len(hits)} labelled, {facts['screening_hits']} adverse, {facts['sanctioned_hits']} on a sanctions list. "
                   f"{_describe_hits(hits)}")
    else:
        summary = f"{account_id}: screened {distinct} external address(es) dealt with from {period}: no direct hit."
    return ledger.record(
        "screening",
        {"account_id": account_id, "as_of": as_of, "window_days": window_days},
        query=sql + (";\n" + hits_sql if hits_sql else ""), columns=COUNTERPARTY_COLUMNS, rows=rows,
        facts=facts, summary=summary, elapsed_ms=(time.perf_counter() - start) * 1000,
    )
