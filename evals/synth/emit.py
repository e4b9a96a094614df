"""Merge planted rows into the background and write the contract tables in a fixed row order.

Transactions and P2P orders are written slice by slice in time order (ids follow that order);
logins are sorted by (account, ts), chain transfers by (src, ts). Planted rows get their final ids
here; the returned maps turn planted keys into `TX-...` numbers for alerts and case files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from evals.synth import strings as S
from evals.synth.activity import background_chain, background_logins, login_columns
from evals.synth.background import chunk_bounds, txn_chunk
from evals.synth.ledger import Ledger
from evals.synth.screening import Screening
from evals.synth.world import World, accounts_table
from evals.synth.writer import TableSink

Progress = Callable[[float], None]
TXN_WIDTH = 9
ORDER_WIDTH = 7


def _ts(values: list[int]) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64) * 1_000_000, pa.timestamp("us"))


def _hashes(seed: int, chains: list[str | None], keys: np.ndarray, ns: str) -> pa.Array:
    idx = np.arange(len(chains))
    arr = np.array(chains, dtype=object)
    parts = [(idx[arr == c], S.tx_hashes(S.keys(seed, ns, keys[arr == c]), c))
             for c in sorted({c for c in chains if c})]
    return S.assemble(len(chains), parts)


def _planted_txn_cols(seed: int, led: Ledger, sel: np.ndarray) -> tuple[np.ndarray, dict[str, pa.Array]]:
    rows = [led.txns[i] for i in sel.tolist()]
    cols = {"ts": _ts([r[0] for r in rows])}
    for j, name in enumerate(("kind", "asset", "amount", "amount_usd", "src", "dst", "chain", "memo"), start=1):
        cols[name] = pa.array([r[j] for r in rows], pa.float64() if name.startswith("amount") else pa.string())
    cols["tx_hash"] = _hashes(seed, [r[7] for r in rows], sel.astype(np.int64), "p_txhash")
    return np.array([r[0] for r in rows], dtype=np.int64), cols


def _planted_order_cols(led: Ledger, sel: np.ndarray) -> tuple[np.ndarray, dict[str, pa.Array]]:
    rows = [led.orders[i] for i in sel.tolist()]
    names = ("buyer", "seller", "asset", "amount_usd", "payment_method", "status", "third_party_payer", "chat")
    types = (pa.string(),) * 3 + (pa.float64(),) + (pa.string(),) * 2 + (pa.bool_(), pa.string())
    cols = {"ts": _ts([r[0] for r in rows])}
    for j, (name, typ) in enumerate(zip(names, types, strict=True), start=1):
        cols[name] = pa.array([r[j] for r in rows], typ)
    return np.array([r[0] for r in rows], dtype=np.int64), cols


def _merge(bg_ts: np.ndarray, bg: dict[str, pa.Array], p_ts: np.ndarray,
           pl: dict[str, pa.Array]) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Stable time order of background then planted rows; returns columns and planted positions."""
    ts_all = np.concatenate([bg_ts, p_ts])
    order = np.argsort(ts_all, kind="stable")
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    take = pa.array(order)
    cols = {k: pa.concat_arrays([bg[k], pl[k].cast(bg[k].type)]).take(take) for k in bg}
    return cols, inverse[len(bg_ts):]


def write_transactions(out: Path, fmt: str, w: World, sc: Screening, led: Ledger, rng: np.random.Generator,
                       total: int, chunk_rows: int, progress: Progress) -> tuple[np.ndarray, int, int]:
    """Background + planted transactions and P2P orders; returns (txn number per planted key, rows, orders)."""
    tx_sink = TableSink(out, "transactions", fmt)
    p2p_sink = TableSink(out, "p2p_orders", fmt)
    p_ts = np.array([r[0] for r in led.txns], dtype=np.int64)
    o_ts = np.array([r[0] for r in led.orders], dtype=np.int64)
    txn_num = np.full(len(led.txns), -1, dtype=np.int64)
    n_tx = n_orders = row_base = 0
    chunks = chunk_bounds(w, total, chunk_rows)
    for ci, (t0, t1, n) in enumerate(chunks):
        ch = txn_chunk(w, sc, rng, t0, t1, n, row_base)
        row_base += n
        last = ci == len(chunks) - 1
        sel = np.flatnonzero((p_ts >= t0) & ((p_ts < t1) | last))
        pts, pcols = _planted_txn_cols(w.seed, led, sel)
        cols, pos = _merge(ch.ts, ch.cols, pts, pcols)
        m = len(cols["ts"])
        cols["txn_id"] = S.prefixed_ids("TX-", np.arange(n_tx + 1, n_tx + m + 1), TXN_WIDTH)
        txn_num[sel] = n_tx + 1 + pos
        tx_sink.write(cols)
        n_tx += m
        osel = np.flatnonzero((o_ts >= t0) & ((o_ts < t1) | last))
        ots, ocols = _planted_order_cols(led, osel)
        ocols, _ = _merge(ch.order_ts, ch.orders, ots, ocols)
        k = len(ocols["ts"])
        ocols["order_id"] = S.prefixed_ids("P2P-", np.arange(n_orders + 1, n_orders + k + 1), ORDER_WIDTH)
        p2p_sink.write(ocols)
        n_orders += k
        progress((ci + 1) / len(chunks))
    tx_sink.close()
    p2p_sink.close()
    return txn_num, n_tx, n_orders


def write_logins(out: Path, fmt: str, w: World, led: Ledger, rng: np.random.Generator, total: int,
                 chunk_rows: int) -> int:
    """Background + planted logins sorted by (account, ts)."""
    lg = background_logins(w, rng, total)
    nb = len(lg.acc)
    p_acc = np.array([int(r[1].split("-")[1]) - 1 for r in led.logins], dtype=np.int64)
    p_ts = np.array([r[0] for r in led.logins], dtype=np.int64)
    order = np.lexsort((np.concatenate([lg.ts, p_ts]), np.concatenate([lg.acc, p_acc])))
    sink = TableSink(out, "logins", fmt)
    for i in range(0, len(order), chunk_rows):
        sel = order[i:i + chunk_rows]
        idx = np.arange(len(sel))
        is_bg = sel < nb
        bg = login_columns(w, lg, sel[is_bg])
        prows = [led.logins[j] for j in (sel[~is_bg] - nb).tolist()]
        pl = {"ts": _ts([r[0] for r in prows])}
        for j, name in enumerate(("account_id", "event", "ip", "device_id", "country"), start=1):
            pl[name] = pa.array([r[j] for r in prows], pa.string())
        typ = {"ts": pa.timestamp("us")}
        sink.write({k: S.assemble(len(sel), [(idx[is_bg], bg[k]), (idx[~is_bg], pl[k])], typ.get(k, pa.string()))
                    for k in bg})
    sink.close()
    return len(order)


def write_chain(out: Path, fmt: str, w: World, sc: Screening, led: Ledger, rng: np.random.Generator,
                n_noise: int, chunk_rows: int) -> int:
    """Chain-analytics transfers (noise + planted exposure hops) sorted by (src, ts)."""
    bg = background_chain(w, sc, rng, n_noise)
    rows = led.chain
    keys = np.arange(len(rows), dtype=np.int64)
    # planted hashes use a key range the planted transaction hashes never reach
    pl = {"tx_hash": _hashes(w.seed, [r[1] for r in rows], keys + (1 << 40), "p_txhash"),
          "ts": _ts([r[0] for r in rows]), "chain": pa.array([r[1] for r in rows], pa.string()),
          "src": pa.array([r[2] for r in rows], pa.string()), "dst": pa.array([r[3] for r in rows], pa.string()),
          "asset": pa.array([r[4] for r in rows], pa.string()),
          "amount_usd": pa.array([r[5] for r in rows], pa.float64())}
    table = pa.table({k: pa.concat_arrays([bg[k], pl[k].cast(bg[k].type)]) for k in bg})
    table = table.sort_by([("src", "ascending"), ("ts", "ascending"), ("tx_hash", "ascending")])
    sink = TableSink(out, "chain_transfers", fmt)
    for i in range(0, max(1, table.num_rows), chunk_rows):
        part = table.slice(i, chunk_rows)
        sink.write({k: part.column(k).combine_chunks() for k in part.column_names})
    sink.close()
    return table.num_rows


def write_accounts(out: Path, fmt: str, w: World) -> int:
    """The account table (after the planner edited the reserved accounts)."""
    t = accounts_table(w)
    sink = TableSink(out, "accounts", fmt)
    sink.write({k: t.column(k).combine_chunks() for k in t.column_names})
    sink.close()
    return t.num_rows


def write_addresses(out: Path, fmt: str, sc: Screening) -> int:
    """The screening list: OFAC, mixers, phishing and synthetic entity labels, sorted by address."""
    rows = sorted(sc.rows, key=lambda r: (r[0], r[1], r[2]))
    names = ("address", "chain", "category", "source", "list_name", "snapshot_date", "entity_name")
    cols = {n: pa.array([r[j] for r in rows], pa.date32() if n == "snapshot_date" else pa.string())
            for j, n in enumerate(names)}
    sink = TableSink(out, "addresses", fmt)
    sink.write(cols)
    sink.close()
    return len(rows)
