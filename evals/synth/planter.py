"""Primitives the scenarios are written in: pick accounts, move money, log in, hop on-chain.

Each primitive writes contract-shaped rows into the Ledger with correct prices, so a scenario reads
like the story it tells ("deposit 9,400 USD, withdraw 95% of it to a fresh address 6 hours later").
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evals.synth import constants as K
from evals.synth import strings as S
from evals.synth.ledger import Ledger, PlantedAlert
from evals.synth.policy import expected_actions
from evals.synth.screening import Screening
from evals.synth.world import COUNTRY_IDX, OCC_IDX, World
from evals.synth.worlds import DEFAULT, WorldParams

PUBLIC_SHARE = 0.25
AUTO_MEMOS = tuple(m for m in K.NORMAL_MEMOS if "car" not in m and "invoice" not in m)


class Planter:
    """Shared state of one planting run: world, lists, rng, ledger and account pools."""

    def __init__(self, world: World, screening: Screening, rng: np.random.Generator,
                 params: WorldParams = DEFAULT) -> None:
        self.w = world
        self.wp = params
        self.sc = screening
        self.rng = rng
        # Scalar draws are hot in planting; Python's generator (seeded from numpy's) is ~20x faster.
        self.py = random.Random(int(rng.integers(2**62)))
        self.ledger = Ledger()
        self.order = rng.permutation(world.n)
        self.pos = 0
        self.exclusive = np.zeros(world.n, dtype=bool)
        # Counterparties (customers, employees, P2P sellers, friends) come from a public pool that
        # never hosts an alert, so one story's counterparties cannot leak into another's window.
        self.public = (rng.random(world.n) < PUBLIC_SHARE) | world.p2p_merchant
        self.public_idx = np.flatnonzero(self.public)
        self.merchants = np.flatnonzero(world.p2p_merchant)
        self.manual_logins: set[int] = set()
        self._fresh: dict[str, list[str]] = {}
        self._fresh_counter = 0
        self._dev_counter = 0
        self._mark = (0, 0, 0, 0)
        self.snapshot = datetime.fromtimestamp(world.end - 1, UTC).date()

    # ---- randomness helpers -------------------------------------------------------------------
    def u(self, lo: float, hi: float) -> float:
        """Uniform float."""
        return self.py.uniform(lo, hi)

    def i(self, lo: int, hi: int) -> int:
        """Uniform int in [lo, hi] (inclusive)."""
        return self.py.randint(lo, hi)

    def pick(self, seq: Any) -> Any:
        """One element of a sequence."""
        return seq[self.py.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.py.random() < p

    # ---- world scales (identity in the default world, so its draws and rows stay the same) ------
    def T(self, x: float) -> float:
        """A planted time span or lag in this world's time scale (an int stays an int)."""
        k = self.wp.time_scale
        if k == 1.0:
            return x
        return int(round(x * k)) if isinstance(x, int) else x * k

    def A(self, x: float) -> float:
        """An amount of a suspicious story in this world's amount scale."""
        return x if self.wp.amount_scale == 1.0 else x * self.wp.amount_scale

    def LA(self, x: float) -> float:
        """An amount of a benign look-alike (world amount scale times the look-alike factor)."""
        k = self.wp.amount_scale * self.wp.lookalike_amount
        return x if k == 1.0 else x * k

    def LN(self, lo: int, hi: int) -> int:
        """A look-alike's count drawn from [lo, hi] scaled by the world's look-alike size."""
        k = self.wp.lookalike_size
        if k == 1.0:
            return self.i(lo, hi)
        return self.i(max(1, int(round(lo * k))), max(1, int(round(hi * k))))

    def size(self, r: tuple[int, int]) -> int:
        """A pattern size drawn from one of the world's (lo, hi) ranges (no draw when lo == hi)."""
        return r[0] if r[0] == r[1] else self.i(r[0], r[1])

    # ---- accounts -----------------------------------------------------------------------------
    def take(self) -> int | None:
        """An account nobody else uses: the planner may rewrite its profile."""
        while self.pos < len(self.order):
            a = int(self.order[self.pos])
            self.pos += 1
            if not self.exclusive[a] and not self.public[a]:
                self.exclusive[a] = True
                return a
        return None

    def take_many(self, n: int, before: int) -> list[int]:
        """n ring accounts: exclusive while they last, then public accounts borrowed."""
        out: list[int] = []
        for _ in range(n):
            a = self.take()
            out.append(a if a is not None else self.borrow(1, before, set(out))[0])
        return out

    def borrow(self, n: int, before: int, exclude: set[int] | None = None) -> list[int]:
        """n distinct public accounts registered before `before` (shared, profile untouched)."""
        exclude = exclude or set()
        out: list[int] = []
        pool = self.public_idx if len(self.public_idx) else np.arange(self.w.n)
        for _ in range(50 * n + 200):
            a = int(pool[self.py.randrange(len(pool))])
            if a in exclude or a in out or self.w.registered[a] >= before:
                continue
            out.append(a)
            if len(out) == n:
                return out
        rest = sorted((int(a) for a in pool if int(a) not in out and int(a) not in exclude),
                      key=lambda a: int(self.w.registered[a]))  # the oldest accounts break the fewest rules
        return out + rest[: n - len(out)]

    def profile(self, a: int, *, kind: str | None = None, age_days: float | None = None, at: int = 0,
                kyc: int | None = None, income: float | None = None, occupation: str | None = None,
                birth_year: int | None = None, country: str | None = None, risk: str | None = None) -> None:
        """Rewrite an exclusive account's KYC profile (and registration age at time `at`)."""
        w = self.w
        if not self.exclusive[a]:
            return
        if kind is not None:
            w.kind[a] = 1 if kind == "business" else 0
            if kind == "business":
                w.birth_year[a] = 0
        if age_days is not None:
            w.registered[a] = int(at - age_days * K.DAY)
        if kyc is not None:
            w.kyc[a] = kyc
        if income is not None:
            w.income[a] = round(income, -2)
        if occupation is not None:
            w.occupation[a] = OCC_IDX[occupation]
        if birth_year is not None:
            w.birth_year[a] = birth_year
        if country is not None:
            w.country[a] = COUNTRY_IDX[country]
        if risk is not None:
            w.risk[a] = K.RISK_RATINGS.index(risk)

    def aid(self, a: int) -> str:
        """Account id string."""
        return self.w.acc_id(a)

    # ---- fresh identifiers --------------------------------------------------------------------
    def fresh_address(self, chain: str) -> str:
        """A never-used external address on a chain (batched vectorised generation)."""
        fam = K.CHAIN_FAMILY[chain]
        pool = self._fresh.setdefault(fam, [])
        if not pool:
            base = self._fresh_counter
            self._fresh_counter += 512
            k = S.keys(self.w.seed, "fresh", K.FAMILIES.index(fam), np.arange(base, base + 512))
            pool.extend(reversed(S.addresses(k, fam).to_pylist()))
        return pool.pop()

    def fresh_device(self) -> str:
        """A device id no account has used before."""
        self._dev_counter += 1
        return S.device_one(S.key_int(self.w.seed, "fresh_device", self._dev_counter))

    def fresh_ip(self, foreign: bool = True) -> str:
        """A new IP: documentation/CGNAT-looking range when foreign, private range otherwise."""
        self._dev_counter += 1
        octets = (100, 172) if foreign else (10,)
        return S.ip_one(S.key_int(self.w.seed, "fresh_ip", self._dev_counter), octets)

    # ---- money movements ----------------------------------------------------------------------
    def memo(self, kind: str, memo: str | None) -> str | None:
        """~2% hostile injections on every kind of planted row, else the given memo or some normal text."""
        if self.chance(K.INJECTION_RATE):
            return self.pick(K.INJECTION_MEMOS)
        if memo is not None:
            return memo
        if kind in ("fiat_deposit", "internal_transfer") and self.chance(0.12):
            return self.pick(AUTO_MEMOS)
        return None

    def _row(self, ts: int, kind: str, asset: str, usd: float, src: str, dst: str, chain: str | None,
             memo: str | None) -> int:
        ts = int(min(max(ts, self.w.start), self.w.end - 1))
        price = self.w.prices.one(asset, ts)
        scale = 10.0 ** K.DECIMALS[asset]
        amount = max(round(usd / price * scale), 1) / scale
        row = (ts, kind, asset, amount, round(amount * price, 2), src, dst, chain, self.memo(kind, memo))
        return self.ledger.add_txn(row)

    def usd_of(self, key: int) -> float:
        """amount_usd of a planted row."""
        return self.ledger.txns[key][4]

    def fiat_in(self, a: int, ts: int, usd: float, memo: str | None = None, bank_slot: int = 0,
                asset: str | None = None) -> int:
        """Fiat deposit from the customer's bank reference."""
        return self._row(ts, "fiat_deposit", asset or self.w.currency(a), usd, self.w.bank_ref(a, bank_slot),
                         self.aid(a), None, memo)

    def fiat_in_native(self, a: int, ts: int, amount: float, currency: str, memo: str | None = None,
                       bank_slot: int = 0) -> int:
        """Fiat deposit of `amount` in `currency` (structuring amounts are set in the threshold's currency)."""
        at = int(min(max(ts, self.w.start), self.w.end - 1))
        return self.fiat_in(a, ts, amount * self.w.prices.one(currency, at), memo, bank_slot, currency)

    def fiat_out(self, a: int, ts: int, usd: float, memo: str | None = None) -> int:
        """Fiat withdrawal to the customer's bank reference."""
        self.auto_login(a, ts)
        return self._row(ts, "fiat_withdrawal", self.w.currency(a), usd, self.aid(a), self.w.bank_ref(a),
                         None, memo)

    def crypto_in(self, a: int, ts: int, usd: float, asset: str, chain: str, src: str,
                  memo: str | None = None) -> int:
        """On-chain deposit from an external address."""
        return self._row(ts, "crypto_deposit", asset, usd, src, self.aid(a), chain, memo)

    def crypto_out(self, a: int, ts: int, usd: float, asset: str, chain: str, dst: str,
                   memo: str | None = None) -> int:
        """On-chain withdrawal to an external address."""
        self.auto_login(a, ts)
        return self._row(ts, "crypto_withdrawal", asset, usd, self.aid(a), dst, chain, memo)

    def transfer(self, a: int, b: int, ts: int, usd: float, asset: str = "USDT", memo: str | None = None) -> int:
        """Internal transfer between two exchange accounts."""
        self.auto_login(a, ts)
        return self._row(ts, "internal_transfer", asset, usd, self.aid(a), self.aid(b), None, memo)

    def trade(self, a: int, ts: int, usd: float, asset: str | None = None) -> int:
        """A trade (src = dst = account)."""
        asset = asset or self.pick(K.TRADE_ASSETS)
        return self._row(ts, "trade", asset, usd, self.aid(a), self.aid(a), None, None)

    def p2p(self, buyer: int, seller: int, ts: int, usd: float, status: str = "completed",
            asset: str = "USDT", method: str = "bank_transfer", third_party: bool = False,
            chat: str | None = None) -> tuple[int, int | None]:
        """A P2P order and, unless cancelled, the crypto release as a p2p_trade row."""
        ts = int(min(max(ts, self.w.start), self.w.end - 1))
        if chat is None and self.chance(0.3):
            chat = self.pick(K.INJECTION_MEMOS) if self.chance(0.06) else self.pick(K.P2P_CHATS)
        order = self.ledger.add_order((ts, self.aid(buyer), self.aid(seller), asset, round(usd, 2), method,
                                       status, third_party, chat))
        if status in ("cancelled", "open"):
            return order, None
        key = self._row(ts + self.i(300, 2400), "p2p_trade", asset, usd, self.aid(seller), self.aid(buyer),
                        None, None)
        return order, key

    def hop(self, ts: int, chain: str, src: str, dst: str, asset: str, usd: float) -> None:
        """An on-chain movement between two external addresses (chain analytics)."""
        ts = int(min(max(ts, self.w.start), self.w.end - 1))
        self.ledger.chain.append((ts, chain, src, dst, asset, round(usd, 2)))

    # ---- logins -------------------------------------------------------------------------------
    def login(self, a: int, ts: int, event: str = "login", device: str | None = None, ip: str | None = None,
              country: str | None = None) -> None:
        """A security event; defaults to one of the account's usual devices and home IP."""
        ts = int(min(max(ts, self.w.start), self.w.end - 1))
        slot = self.i(0, int(self.w.n_dev[a]) - 1)
        self.ledger.logins.append((ts, self.aid(a), event, ip or self.w.home_ip(a, 0),
                                   device or self.w.device(a, slot), country or self.w.country_code(a)))

    def auto_login(self, a: int, ts: int) -> None:
        """Sometimes log the usual-device login that precedes an outgoing action."""
        if a not in self.manual_logins and self.chance(0.35):
            self.login(a, ts - self.i(60, 1800))

    # ---- time ---------------------------------------------------------------------------------
    def times(self, t_end: int, span: float, n: int) -> list[int]:
        """n sorted timestamps in the `span` seconds before t_end, the last one at t_end."""
        lo = max(int(t_end - span), self.w.start + K.HOUR)
        if lo > t_end - span:  # history cut by the start of the period: keep the same density
            n = max(1, int(round(n * (t_end - lo) / span)))
        if n <= 0 or t_end <= lo:
            return []
        rest = sorted(self.py.randrange(lo, t_end) for _ in range(n - 1))
        return [*rest, int(t_end)]

    def hush(self, accounts: list[int], lo: int, hi: int) -> None:
        """Keep background rows of these accounts out of [lo, hi]: the planted story owns it."""
        for a in accounts:
            self.w.quiet(a, lo, hi)

    def daytime(self, a: int, ts: int) -> int:
        """Move ts to a plausible local daytime hour on the same day."""
        day = ts - ts % K.DAY
        local = self.i(8, 21)
        tz = int(K.COUNTRIES[int(self.w.country[a])][3])
        out = day + ((local - tz) % 24) * K.HOUR + self.i(0, 3599)
        return out if self.w.start <= out < self.w.end else ts

    # ---- ordinary history ---------------------------------------------------------------------
    def baseline(self, a: int, t0: int, t1: int, n: int, wallet_chain: str | None = None) -> list[int]:
        """Ordinary activity in [t0, t1): deposits, trades, a withdrawal to the customer's own wallet."""
        t0 = max(t0, int(self.w.registered[a]) + K.HOUR, self.w.start)
        if t1 - t0 < K.DAY or n <= 0:
            return []
        scale = float(300 * np.clip(self.w.wealth[a], 0.3, 8))
        chain = wallet_chain or self.pick(("bitcoin", "ethereum", "tron"))
        asset = {"bitcoin": "BTC", "ethereum": "ETH", "tron": "USDT"}.get(chain, "USDT")
        keys: list[int] = []
        times = sorted(self.py.randrange(t0, t1) for _ in range(n))
        for j, t in enumerate(times):
            t = max(self.daytime(a, t), t0)
            usd = scale * self.py.lognormvariate(0, 0.6)
            r = self.py.random()
            if j == 0 or r < 0.3:
                keys.append(self.fiat_in(a, t, usd * 2))
            elif r < 0.75:
                keys.append(self.trade(a, t, usd))
            elif r < 0.9:
                keys.append(self.crypto_out(a, t, usd * 0.8, asset, chain, self.w.personal_address(a, chain)))
            else:
                keys.append(self.crypto_in(a, t, usd, asset, chain, self.w.personal_address(a, chain)))
            if a not in self.manual_logins:
                self.login(a, t - self.i(60, 3600))
        return keys

    def has_history(self, a: int, before: int) -> bool:
        """Did this scenario plant any row of account a before `before`?"""
        aid = self.aid(a)
        return any(r[0] < before and aid in (r[5], r[6]) for r in self.ledger.txns[self._mark[0]:])

    # ---- alerts -------------------------------------------------------------------------------
    def begin(self) -> None:
        """Start a scenario: its alert is raised after the last row planted from here on."""
        led = self.ledger
        self._mark = (len(led.txns), len(led.chain), len(led.logins), len(led.orders))

    def alert(self, a: int, rule_id: str, fired: list[int], facts: dict[str, Any], disposition: str,
              typology: str, related: list[int] | None = None, key: list[int] | None = None,
              notes: str = "", variant: str = "", lag_hours: tuple[float, float] = (2.0, 8.0)) -> PlantedAlert:
        """Raise an alert a few hours after the last row this scenario planted."""
        led, m = self.ledger, self._mark
        last = max([r[0] for r in led.txns[m[0]:]] + [r[0] for r in led.chain[m[1]:]]
                   + [r[0] for r in led.logins[m[2]:]] + [r[0] for r in led.orders[m[3]:]])
        created = int(min(last + self.u(*lag_hours) * K.HOUR, self.w.end - 60))
        rel = sorted({r for r in (related or []) if r != a})
        alert = PlantedAlert(account=a, rule_id=rule_id, created_at=created, txn_keys=sorted(fired),
                             facts=facts, disposition=disposition, typology=typology,
                             key_txn_keys=sorted(key if key is not None else fired), related=rel,
                             actions=expected_actions(disposition, typology), notes=notes, variant=variant)
        self.ledger.alerts.append(alert)
        return alert
