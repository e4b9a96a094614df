"""Vectorised benign background: the bulk of `transactions` and `p2p_orders`, one time slice at a time.

Rows are drawn per time chunk (accounts weighted by activity and by how long they were open in the
chunk), with a weekly and a local-time daily rhythm, log-normal amounts, and counterparties that
look like an exchange's: the customer's own bank reference, their reused personal addresses, a few
labelled exchange/defi/gambling addresses, friends, P2P merchants. Accounts inside a planted story's
quiet window get no background rows there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evals.synth import constants as K
from evals.synth import strings as S
from evals.synth.screening import Screening
from evals.synth.world import CURRENCY_OF_COUNTRY, DECIMALS_BY_IDX, TZ_OF_COUNTRY, World, to_amounts

KINDS = tuple(k[0] for k in K.KIND_MIX)
KIND_P = np.array([k[1] for k in K.KIND_MIX]) / sum(k[1] for k in K.KIND_MIX)
KIND_MEDIAN = np.array([k[2] for k in K.KIND_MIX])
KIND_SIGMA = np.array([k[3] for k in K.KIND_MIX])
KI = {k: i for i, k in enumerate(KINDS)}
RAIL_ASSET = np.array([K.ASSET_IDX[a] for a, _ in K.RAILS])
RAIL_CHAIN = np.array([K.CHAINS.index(c) for _, c in K.RAILS])
RAIL_P = np.array(K.RAIL_WEIGHTS) / sum(K.RAIL_WEIGHTS)
TRADE_ASSET = np.array([K.ASSET_IDX[a] for a in K.TRADE_ASSETS])
TRADE_P = np.array(K.TRADE_WEIGHTS) / sum(K.TRADE_WEIGHTS)
HOUR_P = np.array(K.HOURLY) / sum(K.HOURLY)
WEEK_ACCEPT = np.array(K.WEEKLY) / max(K.WEEKLY)
CHAIN_FAMILY_IDX = np.array([K.FAMILIES.index(K.CHAIN_FAMILY[c]) for c in K.CHAINS])
METHODS = tuple(m for m, _ in K.P2P_METHODS)
METHOD_P = np.array([p for _, p in K.P2P_METHODS]) / sum(p for _, p in K.P2P_METHODS)


@dataclass
class Chunk:
    """Background rows of one time slice, columns as Arrow arrays plus numpy ts for merging."""

    ts: np.ndarray
    cols: dict[str, pa.Array]
    order_ts: np.ndarray
    orders: dict[str, pa.Array]


def chunk_bounds(w: World, total: int, chunk_rows: int) -> list[tuple[int, int, int]]:
    """Split the period into equal time slices and the background row count of each."""
    n_chunks = max(1, -(-total // chunk_rows))
    edges = np.linspace(w.start, w.end, n_chunks + 1).astype(np.int64)
    act = np.maximum(w.registered, w.start)
    mass = np.array([np.sum(w.weight * np.clip(hi - np.maximum(lo, act), 0, None)) for lo, hi in
                     zip(edges[:-1], edges[1:], strict=True)])
    counts = np.floor(total * mass / mass.sum()).astype(np.int64)
    counts[-1] += total - counts.sum()
    return [(int(lo), int(hi), int(c)) for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)]


def rhythm_times(rng: np.random.Generator, lo: np.ndarray, hi: int | np.ndarray, tz: np.ndarray) -> np.ndarray:
    """Timestamps in [lo, hi) following the weekly and local daily rhythm."""
    n = len(lo)
    span = np.maximum(np.asarray(hi) - lo, 1)
    raw = lo + (rng.random(n) * span).astype(np.int64)
    reject = rng.random(n) >= WEEK_ACCEPT[((raw // K.DAY) + 3) % 7]
    raw[reject] = (lo + (rng.random(n) * span).astype(np.int64))[reject]
    local = rng.choice(24, size=n, p=HOUR_P)
    ts = (raw // K.DAY) * K.DAY + ((local - tz) % 24) * K.HOUR + rng.integers(0, K.HOUR, n)
    bad = (ts < lo) | (ts >= hi)
    ts[bad] = raw[bad]
    return ts


def _quiet(w: World, acc: np.ndarray, ts: np.ndarray) -> np.ndarray:
    return (ts >= w.quiet_lo[acc]) & (ts <= w.quiet_hi[acc])


def _pick_registered(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), n)] if len(pool) else np.zeros(n, dtype=np.int64)


def txn_chunk(w: World, sc: Screening, rng: np.random.Generator, t0: int, t1: int, n: int,
              row_base: int) -> Chunk:
    """Draw about n background transactions in [t0, t1) (fewer after quiet windows are cut out)."""
    act = np.maximum(w.registered, w.start)
    eff = w.weight * np.clip(t1 - np.maximum(t0, act), 0, None)
    cdf = np.cumsum(eff)
    # sorted queries make the search cache-friendly; row order is re-sorted by time later anyway
    acc = np.minimum(np.searchsorted(cdf, np.sort(rng.random(n)) * cdf[-1], side="right"), w.n - 1)
    ts = rhythm_times(rng, np.maximum(t0, act[acc]), t1, TZ_OF_COUNTRY[w.country[acc]])
    kind = rng.choice(len(KINDS), size=n, p=KIND_P)
    older = np.flatnonzero(act < t0)
    other = _pick_registered(rng, older, n)
    other = np.where(other == acc, (other + 1) % w.n, other)
    merchants = np.flatnonzero(w.p2p_merchant & (act < t0))
    seller = _pick_registered(rng, merchants if len(merchants) else older, n)
    two_sided = (kind == KI["internal_transfer"]) | (kind == KI["p2p_trade"])
    cp = np.where(kind == KI["p2p_trade"], seller, other)
    keep = ~_quiet(w, acc, ts) & ~(two_sided & (_quiet(w, cp, ts) | (cp == acc)))
    acc, ts, kind, cp = acc[keep], ts[keep], kind[keep], cp[keep]
    m = len(acc)
    rows = row_base + np.arange(m, dtype=np.int64)

    biz = w.kind[acc] == 1
    usd = KIND_MEDIAN[kind] * np.clip(w.wealth[acc], 0.1, 50) * np.where(biz, 2.5, 1.0)
    usd = np.maximum(usd * np.exp(rng.normal(0, 1, m) * KIND_SIGMA[kind]), 1.0)
    usd = np.where(usd > 250_000.0, rng.uniform(60_000.0, 250_000.0, m), usd)  # no pile-up at a cap
    fiat = CURRENCY_OF_COUNTRY[w.country[acc]].astype(np.int64)
    rail = rng.choice(len(K.RAILS), size=m, p=RAIL_P)
    crypto_kind = (kind == KI["crypto_deposit"]) | (kind == KI["crypto_withdrawal"])
    asset = np.where(np.isin(kind, [KI["fiat_deposit"], KI["fiat_withdrawal"]]), fiat,
                     np.where(crypto_kind, RAIL_ASSET[rail], TRADE_ASSET[rng.choice(6, size=m, p=TRADE_P)]))
    r = rng.random(m)
    asset = np.where(kind == KI["internal_transfer"],
                     np.where(r < 0.55, K.ASSET_IDX["USDT"], np.where(r < 0.85, fiat, K.ASSET_IDX["BTC"])), asset)
    asset = np.where(kind == KI["p2p_trade"],
                     np.where(r < 0.8, K.ASSET_IDX["USDT"], np.where(r < 0.95, K.ASSET_IDX["BTC"],
                                                                      K.ASSET_IDX["ETH"])), asset)
    amount, amount_usd = to_amounts(usd, w.prices.at(asset, ts), DECIMALS_BY_IDX[asset])

    cols = {"ts": pa.array(ts * 1_000_000, pa.timestamp("us")), "kind": pa.array(np.array(KINDS)[kind]),
            "asset": pa.array(np.array(K.ASSETS)[asset]), "amount": pa.array(amount),
            "amount_usd": pa.array(amount_usd)}
    src, dst, chain, txh = _entities(w, sc, rng, acc, cp, kind, rail, crypto_kind, rows)
    cols.update({"src": src, "dst": dst, "chain": chain, "tx_hash": txh, "memo": _memos(rng, kind)})
    order_ts, orders = _orders(w, rng, acc, cp, ts, kind, asset, amount_usd, np.maximum(act, t0), t1, merchants)
    return Chunk(ts=ts, cols=cols, order_ts=order_ts, orders=orders)


def _entities(w: World, sc: Screening, rng: np.random.Generator, acc: np.ndarray, cp: np.ndarray,
              kind: np.ndarray, rail: np.ndarray, crypto_kind: np.ndarray,
              rows: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    m = len(acc)
    idx = np.arange(m)
    account_ids = w.acc_ids(acc)
    is_fiat = np.isin(kind, [KI["fiat_deposit"], KI["fiat_withdrawal"]])
    bank_slot = (rng.random(m) < 0.15).astype(np.int64)
    fi = idx[is_fiat]
    banks = S.bank_refs(S.keys(w.seed, "bank", acc[fi], bank_slot[fi]),
                        pa.array(np.array(K.COUNTRY_CODES)[w.country[acc[fi]]]))
    chain_idx = RAIL_CHAIN[rail]
    # external address of crypto rows: personal (reused), labelled exchange/defi/gambling, or fresh
    r = rng.random(m)
    dep = kind == KI["crypto_deposit"]
    ext_parts: list[tuple[np.ndarray, pa.Array]] = []
    personal = crypto_kind & ((dep & (r < 0.75)) | (~dep & (r < 0.83)))
    fresh = crypto_kind & dep & (r >= 0.9)
    labelled = crypto_kind & ~personal & ~fresh
    for f, fam in enumerate(K.FAMILIES):
        sel = idx[personal & (CHAIN_FAMILY_IDX[chain_idx] == f)]
        slot = (rng.random(len(sel)) < 0.2).astype(np.int64)
        ext_parts.append((sel, S.addresses(S.keys(w.seed, "personal", acc[sel], f, slot), fam)))
        sel = idx[fresh & (CHAIN_FAMILY_IDX[chain_idx] == f)]
        ext_parts.append((sel, S.addresses(S.keys(w.seed, "fresh", 99, rows[sel]), fam)))
    for c, chain in enumerate(K.CHAINS):
        ex = sc.labelled.get(("exchange", chain), [])
        out_pool = ex + sc.labelled.get(("defi", chain), []) + sc.labelled.get(("gambling", chain), [])
        for is_dep, pool in ((True, ex or out_pool), (False, out_pool)):
            sel = idx[labelled & (chain_idx == c) & (dep == is_dep)]
            if not len(sel):
                continue
            if pool:
                arr = pa.array(pool, pa.string()).take(pa.array(rng.integers(0, len(pool), len(sel))))
            else:  # no labelled address on this chain: an unlabelled external address instead
                arr = S.addresses(S.keys(w.seed, "fresh", 98, rows[sel]), K.CHAIN_FAMILY[chain])
            ext_parts.append((sel, arr))
    ext = S.assemble(m, [*ext_parts, (fi, banks)])
    cp_ids = w.acc_ids(cp)
    inbound_ext = pa.array(np.isin(kind, [KI["fiat_deposit"], KI["crypto_deposit"]]))
    outbound_ext = pa.array(np.isin(kind, [KI["fiat_withdrawal"], KI["crypto_withdrawal"]]))
    src = pc.if_else(inbound_ext, ext, pc.if_else(pa.array(kind == KI["p2p_trade"]), cp_ids, account_ids))
    dst = pc.if_else(outbound_ext, ext, pc.if_else(pa.array(kind == KI["internal_transfer"]), cp_ids,
                                                   account_ids))
    chain_parts: list[tuple[np.ndarray, pa.Array]] = []
    hash_parts: list[tuple[np.ndarray, pa.Array]] = []
    for c, chain in enumerate(K.CHAINS):
        sel = idx[crypto_kind & (chain_idx == c)]
        chain_parts.append((sel, pa.array([chain] * len(sel), pa.string())))
        hash_parts.append((sel, S.tx_hashes(S.keys(w.seed, "txhash", rows[sel]), chain)))
    return src, dst, S.assemble(m, chain_parts), S.assemble(m, hash_parts)


def _memos(rng: np.random.Generator, kind: np.ndarray) -> pa.Array:
    m = len(kind)
    p = np.where(kind == KI["internal_transfer"], 0.3, np.where(kind == KI["fiat_deposit"], 0.04, 0.0))
    has = rng.random(m) < p
    text = np.array(K.NORMAL_MEMOS, dtype=object)[rng.integers(0, len(K.NORMAL_MEMOS), m)]
    return pa.array(np.where(has, text, None), pa.string())


def _orders(w: World, rng: np.random.Generator, acc: np.ndarray, cp: np.ndarray, ts: np.ndarray,
            kind: np.ndarray, asset: np.ndarray, usd: np.ndarray, floor: np.ndarray, t1: int,
            merchants: np.ndarray) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """P2P orders behind the p2p_trade rows, plus cancelled orders that moved nothing."""
    sel = np.flatnonzero(kind == KI["p2p_trade"])
    n_cancel = int(round(len(sel) * 0.03)) if len(sel) and len(merchants) else 0
    buyers = np.concatenate([acc[sel], acc[sel][rng.integers(0, max(1, len(sel)), n_cancel)]])
    sellers = np.concatenate([cp[sel], merchants[rng.integers(0, max(1, len(merchants)), n_cancel)]])
    n = len(buyers)
    lo = floor[buyers]  # never before the buyer's account was open (nor the chunk start)
    o_ts = np.concatenate([np.maximum(ts[sel] - rng.integers(120, 2400, len(sel)), lo[: len(sel)]),
                           lo[len(sel):] + (rng.random(n_cancel) * (t1 - lo[len(sel):])).astype(np.int64)])
    status = np.array(["completed"] * len(sel) + ["cancelled"] * (n - len(sel)), dtype=object)
    r = rng.random(len(sel))
    status[: len(sel)] = np.where(r < 0.006, "disputed", np.where(r < 0.008, "chargeback", "completed"))
    o_asset = np.concatenate([asset[sel], np.full(n - len(sel), K.ASSET_IDX["USDT"])])
    o_usd = np.concatenate([usd[sel], np.round(np.exp(rng.normal(np.log(260), 0.9, n - len(sel))), 2)])
    chat = np.where(rng.random(n) < 0.1, np.array(K.P2P_CHATS, dtype=object)[rng.integers(0, len(K.P2P_CHATS),
                                                                                            n)], None)
    cols = {"ts": pa.array(o_ts * 1_000_000, pa.timestamp("us")), "buyer": w.acc_ids(buyers),
            "seller": w.acc_ids(sellers), "asset": pa.array(np.array(K.ASSETS)[o_asset]),
            "amount_usd": pa.array(o_usd.astype(np.float64)),
            "payment_method": pa.array(np.array(METHODS)[rng.choice(len(METHODS), size=n, p=METHOD_P)]),
            "status": pa.array(status, pa.string()), "third_party_payer": pa.array(rng.random(n) < 0.003),
            "chat": pa.array(chat, pa.string())}
    return o_ts, cols
