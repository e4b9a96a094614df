"""Vectorised benign logins and on-chain noise (`logins`, `chain_transfers` background).

Logins: each account uses its 1-3 usual devices and home IPs, in its KYC country, with occasional
travel abroad and rare security events. Chain noise: customers' personal wallets moving funds to
exchange/defi addresses and to each other, so that exposure traces have ordinary edges around the
planted paths (which never touch the noise addresses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from evals.synth import constants as K
from evals.synth import strings as S
from evals.synth.background import CHAIN_FAMILY_IDX, RAIL_ASSET, RAIL_CHAIN, RAIL_P, rhythm_times
from evals.synth.screening import Screening
from evals.synth.world import TZ_OF_COUNTRY, World

EVENTS = tuple(e for e, _ in K.LOGIN_EVENTS_MIX)
EVENT_P = np.array([p for _, p in K.LOGIN_EVENTS_MIX]) / sum(p for _, p in K.LOGIN_EVENTS_MIX)


@dataclass
class Logins:
    """Background login rows as integer arrays; strings are built per written chunk."""

    acc: np.ndarray
    ts: np.ndarray
    event: np.ndarray
    dev_slot: np.ndarray
    ip_slot: np.ndarray
    travel: np.ndarray
    country: np.ndarray


def background_logins(w: World, rng: np.random.Generator, total: int) -> Logins:
    """About `total` login events spread over accounts by activity and open time."""
    act = np.maximum(w.registered, w.start)
    mass = np.sqrt(w.weight) * np.clip(w.end - act, 0, None)
    counts = rng.poisson(total * mass / mass.sum())
    acc = np.repeat(np.arange(w.n), counts)
    ts = rhythm_times(rng, act[acc], w.end, TZ_OF_COUNTRY[w.country[acc]])
    keep = ~((ts >= w.quiet_lo[acc]) & (ts <= w.quiet_hi[acc]))
    acc, ts = acc[keep], ts[keep]
    n = len(acc)
    travel = rng.random(n) < 0.03
    country = np.where(travel, rng.integers(0, len(K.COUNTRIES), n), w.country[acc]).astype(np.int64)
    travel &= country != w.country[acc]
    return Logins(acc=acc, ts=ts, event=rng.choice(len(EVENTS), size=n, p=EVENT_P),
                  dev_slot=(rng.random(n) * w.n_dev[acc]).astype(np.int64),
                  ip_slot=(rng.random(n) * w.n_ip[acc]).astype(np.int64), travel=travel, country=country)


def login_columns(w: World, lg: Logins, sel: np.ndarray) -> dict[str, pa.Array]:
    """Contract columns for the selected background login rows."""
    acc = lg.acc[sel]
    idx = np.arange(len(sel))
    trav = lg.travel[sel]
    home_ip = S.ips(S.keys(w.seed, "ip", acc[~trav], lg.ip_slot[sel][~trav]), (10,))
    away_ip = S.ips(S.keys(w.seed, "travel_ip", sel[trav]), (172, 100))
    return {
        "ts": pa.array(lg.ts[sel] * 1_000_000, pa.timestamp("us")),
        "account_id": w.acc_ids(acc),
        "event": pa.array(np.array(EVENTS)[lg.event[sel]]),
        "ip": S.assemble(len(sel), [(idx[~trav], home_ip), (idx[trav], away_ip)]),
        "device_id": S.devices(S.keys(w.seed, "device", acc, lg.dev_slot[sel])),
        "country": pa.array(np.array(K.COUNTRY_CODES)[lg.country[sel]]),
    }


def background_chain(w: World, sc: Screening, rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """On-chain transfers from customers' personal wallets to labelled services or other wallets."""
    acc = rng.integers(0, w.n, n)
    rail = rng.choice(len(K.RAILS), size=n, p=RAIL_P)
    chain_idx = RAIL_CHAIN[rail]
    fam = CHAIN_FAMILY_IDX[chain_idx]
    peer = rng.integers(0, w.n, n)
    to_service = rng.random(n) < 0.6
    idx = np.arange(n)
    src_parts: list[tuple[np.ndarray, pa.Array]] = []
    dst_parts: list[tuple[np.ndarray, pa.Array]] = []
    for f, family in enumerate(K.FAMILIES):
        sel = idx[fam == f]
        src_parts.append((sel, S.addresses(S.keys(w.seed, "personal", acc[sel], f, 0), family)))
        sel = idx[(fam == f) & ~to_service]
        dst_parts.append((sel, S.addresses(S.keys(w.seed, "personal", peer[sel], f, 0), family)))
    for c, chain in enumerate(K.CHAINS):
        sel = idx[(chain_idx == c) & to_service]
        pool = (sc.labelled.get(("exchange", chain), []) + sc.labelled.get(("defi", chain), [])
                + sc.labelled.get(("gambling", chain), []))
        if pool:
            dst_parts.append((sel, pa.array(pool, pa.string()).take(pa.array(rng.integers(0, len(pool),
                                                                                        len(sel))))))
        else:
            dst_parts.append((sel, S.addresses(S.keys(w.seed, "fresh", 97, sel), K.CHAIN_FAMILY[chain])))
    ts = rng.integers(w.start, w.end, n)
    usd = np.round(np.clip(np.exp(rng.normal(np.log(350), 1.3, n)), 1, 200_000), 2)
    hashes = S.assemble(n, [(idx[chain_idx == c], S.tx_hashes(S.keys(w.seed, "chainhash", idx[chain_idx == c]),
                                                              ch)) for c, ch in enumerate(K.CHAINS)])
    return {"tx_hash": hashes, "ts": pa.array(ts * 1_000_000, pa.timestamp("us")),
            "chain": pa.array(np.array(K.CHAINS)[chain_idx]), "src": S.assemble(n, src_parts),
            "dst": S.assemble(n, dst_parts), "asset": pa.array(np.array(K.ASSETS)[RAIL_ASSET[rail]]),
            "amount_usd": pa.array(usd)}
