"""A small workspace for the sql tests, built with DuckDB directly (no loader needed).

Every contract table from tools/schema.py with a few rows, `transactions` large enough that a
self cross join runs past any short time limit, the derived `flows` (one row per side, as the
loader builds it) and `meta`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from tools.schema import TABLES

N_TRANSACTIONS = 3000

ROWS: dict[str, str] = {
    "accounts": """
        ('ACC-000001', 'individual', 'DE', 2, TIMESTAMP '2026-03-01', 'teacher', 1960, 40000.0, 'low'),
        ('ACC-000002', 'individual', 'NG', 0, TIMESTAMP '2026-09-01', NULL, 1999, NULL, 'high'),
        ('ACC-000003', 'business', 'FR', 3, TIMESTAMP '2025-06-01', 'p2p merchant', NULL, 900000.0, 'medium')""",
    "alerts": """
        ('ALT-00001', TIMESTAMP '2026-10-01 12:00', 'ACC-000001', 'R-STRUCT', 'near-threshold deposits [x]',
         'T000001;T000002', 'open'),
        ('ALT-00002', TIMESTAMP '2026-10-02 09:00', 'ACC-000002', 'R-MIXER', 'withdrawal to mixer', NULL, 'open')""",
    "addresses": """
        ('0x8589427373d6d84e98730d7795d8f6f8731fda16', 'ethereum', 'mixer', 'ofac_sdn', 'OFAC SDN',
         DATE '2024-09-27', 'Tornado Cash'),
        ('bc1qexample000000000000000000000000000000', 'bitcoin', 'exchange', 'internal', 'hot wallets',
         DATE '2026-10-01', 'OtherEx')""",
    "logins": """
        (TIMESTAMP '2026-09-20 08:00', 'ACC-000001', 'login', '10.0.0.1', 'dev-1', 'DE'),
        (TIMESTAMP '2026-09-21 08:00', 'ACC-000001', '2fa_reset', '10.0.0.2', 'dev-2', 'NG')""",
    "p2p_orders": """
        ('P-1', TIMESTAMP '2026-09-10', 'ACC-000001', 'ACC-000003', 'USDT', 950.0, 'bank_transfer', 'disputed',
         true, 'pay to my cousin'),
        ('P-2', TIMESTAMP '2026-09-11', 'ACC-000002', 'ACC-000003', 'USDT', 100.0, 'card', 'completed', false, NULL)""",
    "chain_transfers": """
        ('0xabc', TIMESTAMP '2026-09-01', 'ethereum', '0x8589427373d6d84e98730d7795d8f6f8731fda16',
         '0x1111111111111111111111111111111111111111', 'ETH', 5000.0)""",
}

TRANSACTIONS_SQL = f"""
INSERT INTO transactions
SELECT printf('T%06d', i), TIMESTAMP '2026-01-01' + i * INTERVAL 1 HOUR,
       ['fiat_deposit', 'crypto_withdrawal', 'internal_transfer', 'trade'][i % 4 + 1],
       ['USD', 'BTC', 'ETH', 'USDT'][i % 4 + 1], (i % 97) + 0.5, ((i * 37) % 10000) + 0.25,
       printf('ACC-%06d', i % 3 + 1),
       CASE WHEN i % 50 = 0 THEN '0x8589427373D6D84E98730D7795D8f6f8731FDA16' ELSE printf('ACC-%06d', (i + 1) % 3 + 1) END,
       CASE WHEN i % 4 = 1 THEN 'ethereum' END, NULL, CASE WHEN i % 10 = 0 THEN 'rent' END
FROM range({N_TRANSACTIONS}) r(i)
"""

FLOWS_SQL = """
CREATE TABLE flows AS
WITH sides AS (
  SELECT src AS entity, dst AS counterparty, 'out' AS direction, ts, txn_id, kind, asset, amount_usd, chain,
         'exchange' AS layer FROM transactions
  UNION ALL
  SELECT dst, src, 'in', ts, txn_id, kind, asset, amount_usd, chain, 'exchange' FROM transactions
  UNION ALL
  SELECT src, dst, 'out', ts, tx_hash, 'chain_transfer', asset, amount_usd, chain, 'chain' FROM chain_transfers
  UNION ALL
  SELECT dst, src, 'in', ts, tx_hash, 'chain_transfer', asset, amount_usd, chain, 'chain' FROM chain_transfers
)
SELECT CASE WHEN regexp_full_match(entity, '0x[0-9a-fA-F]{40}') THEN lower(entity) ELSE entity END AS entity,
       CASE WHEN regexp_full_match(counterparty, '0x[0-9a-fA-F]{40}') THEN lower(counterparty)
            ELSE counterparty END AS counterparty,
       direction, ts, txn_id, kind, asset, amount_usd, chain, layer
FROM sides ORDER BY entity, ts
"""


def build(path: Path) -> Path:
    """Write the workspace DuckDB file at `path` and return it."""
    con = duckdb.connect(str(path))
    try:
        for table in TABLES:
            cols = ", ".join(f"{c.name} {c.type}" for c in table.columns)
            con.execute(f"CREATE TABLE {table.name} ({cols})")
            if table.name in ROWS:
                con.execute(f"INSERT INTO {table.name} VALUES {ROWS[table.name]}")
        con.execute(TRANSACTIONS_SQL)
        con.execute(FLOWS_SQL)
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('as_of', '2026-10-01'), ('built_by', 'tests/sql_workspace.py')")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the proof that nothing wrote to it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> dict[str, str]:
    """Every file under `directory` (recursively) with its digest: the proof nothing was created."""
    return {str(p.relative_to(directory)): digest(p) if p.is_file() else "dir" for p in sorted(directory.rglob("*"))}
