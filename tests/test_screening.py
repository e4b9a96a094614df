"""Address and counterparty screening against the labelled lists of a hand-built workspace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import profile_workspace as pw
import pytest

from tools.db import Database
from tools.errors import InputInvalid, NotFound
from tools.evidence import EvidenceLedger
from tools.screening import normalize_address, screen, screen_counterparties


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    path = pw.build(Path(tmp_path_factory.mktemp("ws")) / "sleuth.duckdb")
    with Database(path) as database:
        yield database


def _hits(ev) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in ev.rows:
        out.setdefault(row[0], []).append(dict(zip(ev.columns, row, strict=True)))
    return out


def test_evm_addresses_match_case_insensitively(db: Database) -> None:
    upper = "0x" + pw.OFAC_ETH[2:].upper()
    ev = screen(db, EvidenceLedger(), [upper, pw.OFAC_ETH.lower()])
    hits = _hits(ev)
    assert set(hits) == {upper, pw.OFAC_ETH.lower()}
    assert {h["category"] for h in hits[upper]} == {"sanctioned", "mixer"}
    assert ev.facts == {"screening_hits": 1, "sanctioned_hits": 1}  # one address, spelled twice


def test_bitcoin_addresses_match_case_sensitively(db: Database) -> None:
    ev = screen(db, EvidenceLedger(), [pw.OFAC_BTC])
    assert ev.facts == {"screening_hits": 1, "sanctioned_hits": 1}
    assert ev.rows[0][1:5] == [pw.OFAC_BTC, "bitcoin", "sanctioned", "OFAC SDN"]
    miss = screen(db, EvidenceLedger(), [pw.OFAC_BTC.lower(), pw.OFAC_BTC.upper()])
    assert miss.facts == {"screening_hits": 0, "sanctioned_hits": 0} and miss.rows == []


def test_no_hit_says_so(db: Database) -> None:
    ev = screen(db, EvidenceLedger(), [pw.UNLISTED])
    assert ev.rows == [] and ev.facts == {"screening_hits": 0, "sanctioned_hits": 0}
    assert "no direct hit" in ev.summary


def test_every_hit_carries_list_source_and_snapshot_date(db: Database) -> None:
    ev = screen(db, EvidenceLedger(), [pw.OFAC_ETH, pw.OFAC_BTC, pw.PHISH_AS_SENT, pw.EXCH_TRON, pw.UNLISTED])
    assert len(ev.rows) == 5
    for row in ev.rows:
        hit = dict(zip(ev.columns, row, strict=True))
        assert hit["list_name"] and hit["source"] and hit["category"]
        dt.date.fromisoformat(hit["snapshot_date"])
        assert f"snapshot {hit['snapshot_date']}" in ev.summary
    # the exchange label is shown but is not an adverse hit
    assert ev.facts == {"screening_hits": 3, "sanctioned_hits": 2}


def test_bad_input_is_one_clear_error(db: Database) -> None:
    with pytest.raises(InputInvalid):
        screen(db, EvidenceLedger(), ["  ", ""])


def test_normalize_address() -> None:
    assert normalize_address(" " + pw.OFAC_ETH + " ") == pw.OFAC_ETH.lower()
    assert normalize_address(pw.OFAC_BTC) == pw.OFAC_BTC
    assert normalize_address("0xABC") == "0xABC"  # not a full EVM address: left alone


def test_counterparties_in_window_are_screened(db: Database) -> None:
    ev = screen_counterparties(db, EvidenceLedger(), pw.SUBJECT, pw.AS_OF, 30)
    hits = _hits(ev)
    # the phishing address was sent to in mixed case; the OFAC BTC withdrawal is after the alert
    assert set(hits) == {pw.PHISH, pw.EXCH_TRON}
    assert hits[pw.PHISH][0]["usd"] == 20000.0 and hits[pw.PHISH][0]["category"] == "phishing"
    assert ev.facts == {"screening_hits": 1, "sanctioned_hits": 0}
    assert "screened 3 external address(es)" in ev.summary


def test_counterparties_later_window_finds_sanctioned(db: Database) -> None:
    ev = screen_counterparties(db, EvidenceLedger(), pw.SUBJECT, dt.datetime(2026, 10, 3), 2)
    assert ev.facts == {"screening_hits": 1, "sanctioned_hits": 1}
    assert ev.rows[0][0] == pw.OFAC_BTC and ev.rows[0][10] == "2024-09-27"


def test_unknown_account_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="no account"):
        screen_counterparties(db, EvidenceLedger(), "ACC-999999", pw.AS_OF)


def test_workspace_without_address_norm_still_matches_evm_case_insensitively(tmp_path: Path) -> None:
    import duckdb

    path = pw.build(tmp_path / "sleuth.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE addresses DROP COLUMN address_norm")
    with Database(path) as db:
        ev = screen(db, EvidenceLedger(), [pw.OFAC_ETH.lower()])
        assert ev.facts == {"screening_hits": 1, "sanctioned_hits": 1}
        assert screen_counterparties(db, EvidenceLedger(), pw.SUBJECT, pw.AS_OF).facts["screening_hits"] == 1


def test_long_address_lists_take_the_join_path(db: Database) -> None:
    many = [f"bc1qfiller{i:06d}" for i in range(600)] + [pw.OFAC_BTC]
    ev = screen(db, EvidenceLedger(), many)
    assert ev.facts == {"screening_hits": 1, "sanctioned_hits": 1} and "unnest" in (ev.query or "")


@pytest.mark.parametrize("norm_column", [True, False])
def test_screening_table_held_in_memory_equals_the_queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          norm_column: bool) -> None:
    """A small `addresses` table is read once and matched in memory: the same rows, in the same
    order, as the IN-list and the unnest statements (with or without the `address_norm` column)."""
    import duckdb

    from tools import introspect
    from tools.screening import match_addresses

    path = pw.build(tmp_path / "sleuth.duckdb")
    if not norm_column:
        with duckdb.connect(str(path)) as con:
            con.execute("ALTER TABLE addresses DROP COLUMN address_norm")
    with Database(path) as db:
        known = [r[0] for r in db.execute("SELECT address FROM addresses").rows]
        asks = [known, [a.upper() if a.startswith("0x") else a for a in known], ["bc1qnothing", ""],
                [*(f"bc1qfiller{i:06d}" for i in range(600)), *known]]
        held = [match_addresses(db, ask) for ask in asks]
        assert any(found for _, found in held)
        monkeypatch.setattr(introspect, "SMALL_TABLE_ROWS", 0)
        introspect.forget_small_tables(db)
        assert [match_addresses(db, ask) for ask in asks] == held
