"""The static world of the exchange: the period, prices, customer accounts and their identifiers.

Accounts are numpy arrays (one row per account) so that background generation can index them in
bulk; planted scenarios edit a few rows (age, KYC, income, ...) before the background is drawn, so
every table agrees with the stories planted in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from evals.synth import constants as K
from evals.synth import strings as S

OCCUPATIONS: tuple[str, ...] = tuple(o for o, _ in K.OCCUPATIONS_INDIVIDUAL) + tuple(
    o for o, _ in K.OCCUPATIONS_BUSINESS)
OCC_IDX: dict[str, int] = {o: i for i, o in enumerate(OCCUPATIONS)}
COUNTRY_IDX: dict[str, int] = {c: i for i, c in enumerate(K.COUNTRY_CODES)}
CURRENCY_OF_COUNTRY = np.array([K.ASSET_IDX[c[2]] for c in K.COUNTRIES], dtype=np.int8)
TZ_OF_COUNTRY = np.array([c[3] for c in K.COUNTRIES], dtype=np.int64)


class Prices:
    """Hourly seeded random walk per asset; `amount_usd = amount * price(asset, ts)`."""

    def __init__(self, rng: np.random.Generator, start: int, end: int) -> None:
        self.start = start
        hours = (end - start) // K.HOUR + 2
        self.table = np.empty((len(K.ASSETS), hours), dtype=np.float64)
        for i, a in enumerate(K.ASSETS):
            vol = K.HOURLY_VOL[a]
            if a in ("USDT", "USDC"):
                self.table[i] = 1.0 + rng.normal(0, 0.0004, hours)
            elif vol == 0:
                self.table[i] = 1.0
            else:
                steps = rng.normal(0.0, vol, hours)
                steps[0] = 0.0
                self.table[i] = K.START_PRICE[a] * np.exp(np.cumsum(steps))
        self.table = np.round(self.table, 4)

    def at(self, asset_idx: np.ndarray | int, ts: np.ndarray | int) -> np.ndarray:
        """USD price of each asset at each timestamp (hour resolution)."""
        h = np.clip((np.asarray(ts) - self.start) // K.HOUR, 0, self.table.shape[1] - 1)
        return self.table[np.asarray(asset_idx), h]

    def one(self, asset: str, ts: int) -> float:
        """Scalar price for planted rows."""
        h = min(max((ts - self.start) // K.HOUR, 0), self.table.shape[1] - 1)
        return float(self.table[K.ASSET_IDX[asset], h])


def to_amounts(usd: np.ndarray, price: np.ndarray, decimals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Amount in asset units (rounded to the asset's decimals) and its exact USD value."""
    scale = 10.0 ** decimals
    amount = np.maximum(np.round(usd / price * scale), 1.0) / scale
    return amount, np.round(amount * price, 2)


DECIMALS_BY_IDX = np.array([K.DECIMALS[a] for a in K.ASSETS], dtype=np.int64)


@dataclass
class World:
    """Period, prices and the account table (mutable by the scenario planner)."""

    seed: int
    n: int
    start: int
    end: int
    prices: Prices
    kind: np.ndarray
    country: np.ndarray
    kyc: np.ndarray
    registered: np.ndarray
    birth_year: np.ndarray
    income: np.ndarray
    occupation: np.ndarray
    risk: np.ndarray
    weight: np.ndarray
    wealth: np.ndarray
    n_dev: np.ndarray
    n_ip: np.ndarray
    p2p_merchant: np.ndarray
    id_width: int = 6
    quiet_lo: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    quiet_hi: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    # ---- identifiers -------------------------------------------------------------------------
    def acc_id(self, i: int) -> str:
        """Account id of row i (ACC-000001 is row 0)."""
        return f"ACC-{i + 1:0{self.id_width}d}"

    def acc_ids(self, idx: np.ndarray) -> pa.StringArray:
        """Vectorised account ids."""
        return S.prefixed_ids("ACC-", np.asarray(idx, dtype=np.int64) + 1, self.id_width)

    def country_code(self, i: int) -> str:
        """ISO-2 KYC country of an account."""
        return K.COUNTRY_CODES[int(self.country[i])]

    def currency(self, i: int) -> str:
        """Fiat currency an account deposits in."""
        return K.ASSETS[int(CURRENCY_OF_COUNTRY[self.country[i]])]

    def personal_address(self, i: int, chain: str, slot: int = 0) -> str:
        """The customer's own external address on a chain (reused across deposits/withdrawals)."""
        fam = K.CHAIN_FAMILY[chain]
        return S.address_one(S.key_int(self.seed, "personal", i, K.FAMILIES.index(fam), slot), fam)

    def device(self, i: int, slot: int = 0) -> str:
        """One of the account's usual devices."""
        return S.device_one(S.key_int(self.seed, "device", i, slot))

    def home_ip(self, i: int, slot: int = 0) -> str:
        """One of the account's usual home IPs."""
        return S.ip_one(S.key_int(self.seed, "ip", i, slot), (10,))

    def bank_ref(self, i: int, slot: int = 0) -> str:
        """The customer's own bank reference."""
        return S.bank_one(S.key_int(self.seed, "bank", i, slot), self.country_code(i))

    def age_at(self, i: int, ts: int) -> int | None:
        """Age in years at a timestamp, if the account is an individual with a birth year."""
        by = int(self.birth_year[i])
        return None if by <= 0 else 1970 + ts // (365 * K.DAY) - by

    def quiet(self, i: int, lo: int, hi: int) -> None:
        """Keep background activity of account i out of [lo, hi] (the planted story owns it)."""
        if self.quiet_hi[i] < self.quiet_lo[i]:
            self.quiet_lo[i], self.quiet_hi[i] = lo, hi
        else:
            self.quiet_lo[i] = min(self.quiet_lo[i], lo)
            self.quiet_hi[i] = max(self.quiet_hi[i], hi)


def make_world(rng: np.random.Generator, seed: int, n: int, days: int) -> World:
    """Draw the accounts and prices for a period of `days` days ending at K.END_TS."""
    end = K.END_TS
    start = end - days * K.DAY
    prices = Prices(rng, start, end)
    kind = (rng.random(n) < 0.06).astype(np.int8)
    cw = np.array([c[1] for c in K.COUNTRIES])
    country = rng.choice(len(K.COUNTRIES), size=n, p=cw / cw.sum()).astype(np.int16)
    kyc = np.where(kind == 1, rng.choice(4, n, p=K.KYC_WEIGHTS_BUSINESS),
                   rng.choice(4, n, p=K.KYC_WEIGHTS_INDIVIDUAL)).astype(np.int8)
    before = rng.random(n) < 0.8
    reg = np.where(before, start - rng.integers(K.DAY, 4 * 365 * K.DAY, n),
                   start + rng.integers(0, max(1, days - 2) * K.DAY, n)).astype(np.int64)
    age = np.where(rng.random(n) < 0.7, rng.normal(33, 8, n), rng.normal(52, 12, n))
    age = np.clip(np.round(age), 18, 88).astype(np.int64)
    birth_year = np.where(kind == 1, 0, 2026 - age).astype(np.int32)
    n_ind = len(K.OCCUPATIONS_INDIVIDUAL)
    occ_ind = rng.integers(0, n_ind - 1, n)  # "retired" is assigned by age below
    occ_ind = np.where(age >= 66, np.where(rng.random(n) < 0.85, n_ind - 1, occ_ind), occ_ind)
    occ_ind = np.where((age < 24) & (rng.random(n) < 0.5), OCC_IDX["student"], occ_ind)
    occ_biz = n_ind + rng.integers(0, len(K.OCCUPATIONS_BUSINESS), n)
    occupation = np.where(kind == 1, occ_biz, occ_ind).astype(np.int16)
    medians = np.array([m for _, m in K.OCCUPATIONS_INDIVIDUAL] + [m for _, m in K.OCCUPATIONS_BUSINESS])
    income = np.round(medians[occupation] * np.exp(rng.normal(0, np.where(kind == 1, 0.8, 0.4), n)), -2)
    hi_risk = np.isin(np.array(K.COUNTRY_CODES)[country], list(K.HIGHER_RISK_COUNTRIES))
    risk = np.where((kyc <= 1) | hi_risk, np.where(rng.random(n) < 0.75, 1, 0), 0)
    risk = np.where(rng.random(n) < 0.03, 2, risk).astype(np.int8)
    weight = np.exp(rng.normal(0, 1.0, n)) * np.where(kind == 1, 2.5, 1.0)
    weight = np.where(rng.random(n) < 0.1, weight * 0.1, weight)
    wealth = np.exp(rng.normal(0, 0.6, n)) * np.clip(income / 45_000, 0.2, 30) ** 0.4
    n_dev = rng.choice([1, 2, 3], n, p=[0.45, 0.4, 0.15]).astype(np.int8)
    n_ip = rng.choice([1, 2, 3], n, p=[0.5, 0.35, 0.15]).astype(np.int8)
    p2p_merchant = (rng.random(n) < 0.015) & (kyc >= 2) & before
    if not p2p_merchant.any():
        p2p_merchant[int(np.argmin(reg))] = True
    return World(seed=seed, n=n, start=start, end=end, prices=prices, kind=kind, country=country, kyc=kyc,
                 registered=reg, birth_year=birth_year, income=income, occupation=occupation, risk=risk,
                 weight=weight, wealth=wealth, n_dev=n_dev, n_ip=n_ip, p2p_merchant=p2p_merchant,
                 id_width=max(6, len(str(n))), quiet_lo=np.full(n, 1, dtype=np.int64),
                 quiet_hi=np.full(n, 0, dtype=np.int64))


def accounts_table(w: World) -> pa.Table:
    """The `accounts` contract table, sorted by account_id."""
    idx = np.arange(w.n)
    occ = pa.array(np.array(OCCUPATIONS, dtype=object)[w.occupation])
    by = pa.array(w.birth_year, mask=w.birth_year <= 0).cast(pa.int32())
    return pa.table({
        "account_id": w.acc_ids(idx),
        "kind": pa.array(np.array(["individual", "business"], dtype=object)[w.kind]),
        "country": pa.array(np.array(K.COUNTRY_CODES, dtype=object)[w.country]),
        "kyc_level": pa.array(w.kyc.astype(np.int32)),
        "registered_at": pa.array(w.registered * 1_000_000, pa.timestamp("us")),
        "occupation": occ,
        "birth_year": by,
        "declared_income_usd": pa.array(w.income.astype(np.float64)),
        "risk_rating": pa.array(np.array(K.RISK_RATINGS, dtype=object)[w.risk]),
    })
