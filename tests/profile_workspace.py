"""A tiny hand-built workspace for the profile and screening tests.

One subject account (ACC-000001) with facts computed by hand in tests/test_profile.py: baseline
activity from April 2026, then in the alert window (2026-09-01 12:00 to 2026-10-01 12:00)
near-threshold and escalating fiat deposits, a new device and country with a 2FA reset before a
withdrawal to a new (phishing-listed) address, a disputed P2P order paid by a third party. `flows`
and `addresses.address_norm` are built with the loader's own SQL (`tools.data.layout`), so the
tools see the same shapes as on a loaded workspace.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from tools.data.layout import create_flows_sql, create_p2p_sides_sql, norm_sql

SUBJECT = "ACC-000001"
ALERT = "ALT-00002"
AS_OF = dt.datetime(2026, 10, 1, 12, 0)

OFAC_ETH = "0x8589427373D6D84E98730D7795D8f6f8731FDA16"  # Tornado Cash, OFAC SDN (mixed case)
OFAC_BTC = "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX"
PHISH = "0x0000000086c5d614bec59dfd2c9b88f7cb57f23c"  # Forta phishing list (lower case)
PHISH_AS_SENT = "0x0000000086C5D614BEC59DFD2C9B88F7CB57F23C"  # how the withdrawal spelled it
OLD_BTC = "bc1qoldpersonaladdr000000000000000000xyz"
EXCH_TRON = "TXchangeHotWallet000000000000000AB"
UNLISTED = "bc1qneverlisted0000000000000000000000abc"


def t(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute)


ACCOUNTS = [
    # account_id, kind, country, kyc_level, registered_at, occupation, birth_year, declared_income_usd
    (SUBJECT, "individual", "DE", 2, dt.datetime(2026, 3, 1), "retired teacher", 1960, 40_000.0),
    ("ACC-000002", "individual", "DE", 1, dt.datetime(2026, 1, 1), None, None, None),
    ("ACC-000003", "business", "FR", 3, dt.datetime(2025, 6, 1), "p2p merchant", None, 900_000.0),
    ("ACC-000004", "individual", "NG", 0, dt.datetime(2026, 9, 1), None, 1999, None),
]

TRANSACTIONS = [
    # txn_id, ts, kind, asset, amount, amount_usd, src, dst, chain
    ("TX-000", t(4, 1, 0), "fiat_deposit", "EUR", 100, 100.0, "BANK-DE-9", "ACC-000002", None),
    # baseline of the subject
    ("TX-B01", t(4, 5), "fiat_deposit", "EUR", 1850, 2000.0, "BANK-DE-1", SUBJECT, None),
    ("TX-B02", t(5, 5), "fiat_deposit", "EUR", 925, 1000.0, "BANK-DE-1", SUBJECT, None),
    ("TX-B03", t(5, 6), "trade", "BTC", 0.02, 1500.0, SUBJECT, SUBJECT, None),
    ("TX-B04", t(6, 10), "crypto_withdrawal", "BTC", 0.013, 1000.0, SUBJECT, OLD_BTC, "bitcoin"),
    ("TX-B05", t(7, 1), "internal_transfer", "USDT", 500, 500.0, "ACC-000002", SUBJECT, None),
    # window
    ("TX-W01", t(9, 3), "fiat_deposit", "EUR", 8400, 9100.0, "BANK-DE-1", SUBJECT, None),
    ("TX-W02", t(9, 3, 11), "trade", "BTC", 0.13, 10000.0, SUBJECT, SUBJECT, None),
    ("TX-X01", t(9, 4), "crypto_withdrawal", "BTC", 0.12, 9000.0, SUBJECT, OLD_BTC, "bitcoin"),
    ("TX-W03", t(9, 5), "fiat_deposit", "EUR", 8700, 9400.0, "BANK-DE-1", SUBJECT, None),
    ("TX-W04", t(9, 7), "fiat_deposit", "EUR", 9050, 9800.0, "BANK-DE-1", SUBJECT, None),
    ("TX-W05", t(9, 10), "fiat_deposit", "EUR", 4600, 5000.0, "BANK-DE-1", SUBJECT, None),
    ("TX-W06", t(9, 12), "fiat_deposit", "EUR", 11000, 12000.0, "BANK-DE-1", SUBJECT, None),
    ("TX-W07", t(9, 12, 11), "trade", "ETH", 4.8, 12000.0, SUBJECT, SUBJECT, None),
    ("TX-X02", t(9, 13, 9), "crypto_withdrawal", "ETH", 8.0, 20000.0, SUBJECT, PHISH_AS_SENT, "ethereum"),
    ("TX-W08", t(9, 15), "internal_transfer", "USDT", 800, 800.0, "ACC-000002", SUBJECT, None),
    ("TX-W09", t(9, 18), "p2p_trade", "USDT", 700, 700.0, "ACC-000003", SUBJECT, None),
    ("TX-X03", t(9, 20), "crypto_withdrawal", "USDT", 3000, 3000.0, SUBJECT, EXCH_TRON, "tron"),
    # after the alert: must not count
    ("TX-A01", t(10, 2), "crypto_withdrawal", "BTC", 0.01, 900.0, SUBJECT, OFAC_BTC, "bitcoin"),
]

LOGINS = [
    # ts, account_id, event, ip, device_id, country
    (t(3, 2), SUBJECT, "login", "192.0.2.1", "DEV-aaaa0001", "DE"),
    (t(5, 1), SUBJECT, "password_change", "192.0.2.1", "DEV-aaaa0001", "DE"),
    (t(6, 1), SUBJECT, "login", "192.0.2.1", "DEV-aaaa0001", "DE"),
    (t(7, 10), SUBJECT, "login", "198.51.100.7", "DEV-bbbb0002", "FR"),
    (t(9, 2), SUBJECT, "login", "192.0.2.1", "DEV-aaaa0001", "DE"),
    (t(9, 12, 20), SUBJECT, "login", "203.0.113.50", "DEV-new00003", "NG"),
    (t(9, 12, 21), SUBJECT, "2fa_reset", "203.0.113.50", "DEV-new00003", "NG"),
    (t(9, 25), SUBJECT, "login", "192.0.2.1", "DEV-cccc0004", "DE"),
    (t(9, 25, 11), SUBJECT, "email_change", "192.0.2.1", "DEV-cccc0004", "DE"),
    (t(9, 25, 12), SUBJECT, "api_key_created", "192.0.2.1", "DEV-cccc0004", "DE"),
    (t(9, 26), SUBJECT, "login", "198.51.100.7", "DEV-bbbb0002", "FR"),
    (t(10, 5), SUBJECT, "login", "203.0.113.99", "DEV-zzzz0005", "US"),
    (t(9, 12, 20), "ACC-000004", "login", "203.0.113.50", "DEV-new00003", "NG"),
]

P2P = [
    # order_id, ts, buyer, seller, asset, amount_usd, payment_method, status, third_party_payer
    ("P2P-1", t(6, 1), SUBJECT, "ACC-000003", "USDT", 300.0, "bank_transfer", "completed", False),
    ("P2P-2", t(9, 18), SUBJECT, "ACC-000003", "USDT", 700.0, "bank_transfer", "completed", False),
    ("P2P-3", t(9, 22), SUBJECT, "ACC-000004", "USDT", 650.0, "bank_transfer", "disputed", True),
    ("P2P-4", t(9, 23), "ACC-000004", SUBJECT, "USDT", 400.0, "card", "cancelled", None),
    ("P2P-5", t(10, 3), SUBJECT, "ACC-000003", "USDT", 500.0, "bank_transfer", "completed", False),
    ("P2P-6", t(9, 20), "ACC-000002", "ACC-000003", "USDT", 100.0, "bank_transfer", "chargeback", True),
]

ALERTS = [
    ("ALT-00001", t(7, 15), SUBJECT, "TM-STRUCT-01", "two deposits near 10k", "TX-B01"),
    (ALERT, AS_OF, SUBJECT, "TM-ATO-04", "large withdrawal after new device login", "TX-X02; TX-W06;"),
    ("ALT-00003", t(10, 10), SUBJECT, "TM-RAPID-02", "later alert", None),
    ("ALT-00004", t(9, 1), "ACC-000002", "TM-VEL-07", "other account", None),
]

ADDRESSES = [
    # address, chain, category, source, list_name, snapshot_date, entity_name
    (OFAC_ETH, "ethereum", "sanctioned", "ofac_sdn", "OFAC SDN", dt.date(2024, 9, 27), "Tornado Cash"),
    (OFAC_ETH, "ethereum", "mixer", "ofac_sdn", "OFAC SDN", dt.date(2024, 9, 27), "Tornado Cash"),
    (OFAC_BTC, "bitcoin", "sanctioned", "ofac_sdn", "OFAC SDN", dt.date(2024, 9, 27), None),
    (PHISH, "ethereum", "phishing", "forta", "Forta phishing_scams", dt.date(2023, 5, 1), "Fake_Phishing4604"),
    (EXCH_TRON, "tron", "exchange", "internal", "Exchange hot wallets", dt.date(2026, 10, 1), "OtherEx"),
]

def build(path: Path, p2p_sides: bool = False) -> Path:
    """Write the workspace DuckDB file and return its path (with the account-sorted P2P table if asked)."""
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE accounts (account_id VARCHAR, kind VARCHAR, country VARCHAR, kyc_level INTEGER,
        registered_at TIMESTAMP, occupation VARCHAR, birth_year INTEGER, declared_income_usd DOUBLE)""")
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ACCOUNTS)
    con.execute("""CREATE TABLE transactions (txn_id VARCHAR, ts TIMESTAMP, kind VARCHAR, asset VARCHAR,
        amount DOUBLE, amount_usd DOUBLE, src VARCHAR, dst VARCHAR, chain VARCHAR)""")
    con.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", TRANSACTIONS)
    con.execute("""CREATE TABLE logins (ts TIMESTAMP, account_id VARCHAR, event VARCHAR, ip VARCHAR,
        device_id VARCHAR, country VARCHAR)""")
    con.executemany("INSERT INTO logins VALUES (?, ?, ?, ?, ?, ?)", LOGINS)
    con.execute("""CREATE TABLE p2p_orders (order_id VARCHAR, ts TIMESTAMP, buyer VARCHAR, seller VARCHAR,
        asset VARCHAR, amount_usd DOUBLE, payment_method VARCHAR, status VARCHAR, third_party_payer BOOLEAN)""")
    con.executemany("INSERT INTO p2p_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", P2P)
    con.execute("""CREATE TABLE alerts (alert_id VARCHAR, created_at TIMESTAMP, account_id VARCHAR,
        rule_id VARCHAR, description VARCHAR, txn_ids VARCHAR)""")
    con.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?)", ALERTS)
    con.execute("""CREATE TABLE addresses (address VARCHAR, chain VARCHAR, category VARCHAR, source VARCHAR,
        list_name VARCHAR, snapshot_date DATE, entity_name VARCHAR)""")
    con.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?, ?, ?, ?)", ADDRESSES)
    con.execute("ALTER TABLE addresses ADD COLUMN address_norm VARCHAR")
    con.execute(f"UPDATE addresses SET address_norm = {norm_sql('address')}")
    con.execute("""CREATE TABLE chain_transfers (tx_hash VARCHAR, ts TIMESTAMP, chain VARCHAR, src VARCHAR,
        dst VARCHAR, asset VARCHAR, amount_usd DOUBLE)""")
    con.execute(create_flows_sql())
    if p2p_sides:
        con.execute(create_p2p_sides_sql())
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('built_by', 'tests/profile_workspace.py')")
    con.close()
    return path
