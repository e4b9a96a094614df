"""Fiat-driven typologies and their look-alikes: structuring, pass_through, scam_victim.

Each function plants one alerted story ending near `t` with the strength asked for (sar, escalate,
close) and returns the alert. The signals of docs/data-spec.md are made true by construction.
"""

from __future__ import annotations

from evals.synth import constants as K
from evals.synth.constants import DAY, HOUR
from evals.synth.ledger import PlantedAlert
from evals.synth.planter import Planter

LOW_INCOME_JOBS = ("driver", "shop assistant", "self-employed", "chef", "construction worker", "freelancer")
CASH_BUSINESSES = ("restaurant", "convenience store", "car wash", "car dealer")
CRYPTO_OUT = (("USDT", "tron"), ("USDT", "ethereum"), ("BTC", "bitcoin"), ("ETH", "ethereum"))


def _near(p: Planter) -> float:
    """A deposit amount just under the world's threshold (10k by default), sometimes a round number."""
    tf = p.wp.tf
    x = p.u(9_050 * tf, 9_985 * tf)
    if p.chance(0.4):
        x = min(round(x, -2 if p.wp.threshold >= 5_000 else -1), 9_900.0 * tf)
    return x


def _countries(p: Planter) -> tuple[str, ...]:
    """Countries whose customers deposit in the threshold's currency."""
    return tuple(c[0] for c in K.COUNTRIES if c[2] == p.wp.currency)


def structuring(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 5-9 near-threshold deposits in <=14 d, low income; escalate: 3-4 of them."""
    sar = strength == "sar"
    n = p.size(p.wp.struct_sar) if sar else p.size(p.wp.struct_esc)
    p.profile(a, kind="individual", age_days=p.u(200, 1500), at=t, kyc=p.pick((1, 2)),
              income=p.u(14_000, 38_000) if sar else p.u(35_000, 75_000), occupation=p.pick(LOW_INCOME_JOBS),
              country=p.pick(_countries(p)))
    p.baseline(a, t - 160 * DAY, t - 32 * DAY, p.i(4, 9))
    span = p.T(p.u(6, 12) * DAY if sar else p.u(4, 12) * DAY)
    cur = p.wp.currency
    keys = [p.fiat_in_native(a, p.daytime(a, ts) if ts != t else ts, _near(p), cur, bank_slot=p.i(0, 1))
            for ts in p.times(t, span, n)]
    for _ in range(p.i(1, 2)):
        p.trade(a, t - p.T(p.i(1, 5) * DAY), p.A(p.u(500, 4_000)))
    usd = [p.usd_of(k) for k in keys]
    facts = {"n": n, "total": sum(usd), "min": min(usd), "max": max(usd), "currency": cur}
    note = ("individual with low declared income made repeated deposits just under the 10k threshold"
            if sar else "a few near-threshold deposits, pattern not conclusive")
    return p.alert(a, K.STRUCT, keys, facts, strength, "structuring", notes=note)


def structuring_business(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: cash-intensive business with many deposits both below and above 10k, high turnover."""
    tf, cur = p.wp.tf, p.wp.currency
    p.profile(a, kind="business", age_days=p.u(500, 2500), at=t, kyc=3, income=p.u(900_000, 3_500_000),
              occupation=p.pick(CASH_BUSINESSES), country=p.pick(_countries(p)))
    for ts in p.times(t - 35 * DAY, 120 * DAY, p.LN(6, 10)):
        p.fiat_in_native(a, p.daytime(a, ts), p.u(3_000 * tf, 26_000 * tf), cur)
    n_near, n_big, n_small = p.LN(2, 3), p.LN(3, 6), p.LN(2, 5)
    times = p.times(t, p.T(p.u(10, 13) * DAY), n_near + n_big + n_small)
    amounts = [_near(p) for _ in range(n_near)] + [p.u(10_200 * tf, 28_000 * tf) for _ in range(n_big)] + [
        p.u(2_000 * tf, 8_800 * tf) for _ in range(n_small)]
    order = p.rng.permutation(len(amounts)).tolist()
    order.remove(0)
    order.append(0)  # the alert fires on a near-threshold deposit
    fired: list[int] = []
    for ts, j in zip(times, order, strict=True):
        k = p.fiat_in_native(a, ts if ts == t else p.daytime(a, ts), amounts[j], cur, memo="daily takings"
                             if p.chance(0.3) else None)
        if j < n_near:
            fired.append(k)
    usd = [p.usd_of(k) for k in fired]
    facts = {"n": len(fired), "total": sum(usd), "min": min(usd), "max": max(usd), "currency": cur}
    return p.alert(a, K.STRUCT, fired, facts, "close", "none", variant="cash_business",
                   notes="cash-intensive business, deposits both below and above 10k, consistent with turnover")


def structuring_car_sale(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: two one-off near-threshold deposits explained by a car sale, income consistent."""
    p.profile(a, kind="individual", age_days=p.u(300, 2500), at=t, kyc=2, income=p.u(70_000, 160_000),
              country=p.pick(_countries(p)))
    p.baseline(a, t - 200 * DAY, t - 32 * DAY, p.i(5, 10))
    memos = p.pick((("car sale", "car sale part 2"), ("proceeds from car sale", "rest of car payment"),
                    ("sold my car - deposit 1", "sold my car - deposit 2")))
    times = p.times(t, p.T(p.u(1, 6) * DAY), 2)
    cur = p.wp.currency
    keys = [p.fiat_in_native(a, ts, _near(p), cur, memo=m) for ts, m in zip(times, memos, strict=True)]
    usd = [p.usd_of(k) for k in keys]
    facts = {"n": 2, "total": sum(usd), "min": min(usd), "max": max(usd), "currency": cur, "memo": memos[0]}
    return p.alert(a, K.STRUCT, keys, facts, "close", "none", variant="car_sale",
                   notes="two deposits from a documented car sale, income consistent")


def pass_through(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: new account, 3+ cycles fiat in -> >=90% crypto out within 24 h, no trades; escalate: 1-2, 70-90%."""
    sar = strength == "sar"
    age = p.u(45, 85) if sar else p.u(60, 900)
    p.profile(a, kind="individual", age_days=age, at=t, kyc=1 if sar else p.pick((1, 2)),
              income=p.u(18_000, 50_000), occupation=p.pick(LOW_INCOME_JOBS + ("student", "unemployed")))
    p.baseline(a, t - 200 * DAY, t - 32 * DAY, p.i(2, 4) if sar else p.i(4, 8))
    cycles = p.size(p.wp.passthrough_sar) if sar else p.size(p.wp.passthrough_esc)
    starts = p.times(t - p.T(30 * HOUR), min(p.T(p.u(8, 24) * DAY), 26 * DAY), cycles)
    keys: list[int] = []
    fin = fout = 0.0
    max_h = 0.0
    asset, chain = p.pick(CRYPTO_OUT)
    for s in starts:
        dep = p.fiat_in(a, s, p.A(p.u(2_500, 15_000)))
        hours = p.T(p.u(1, 20) if sar else p.u(6, 60))
        frac = p.u(0.9, 0.99) if sar else p.u(0.7, 0.89)
        if not sar and p.chance(0.5):
            p.trade(a, s + int(hours * HOUR / 2), p.usd_of(dep) * 0.3)
        out = p.crypto_out(a, s + int(hours * HOUR), p.usd_of(dep) * frac, asset, chain, p.fresh_address(chain))
        keys += [dep, out]
        fin += p.usd_of(dep)
        fout += p.usd_of(out)
        max_h = max(max_h, hours)
    facts = {"cycles": cycles, "fiat_in": fin, "crypto_out": fout, "pct": 100 * fout / fin, "hours": max_h,
             "asset": asset}
    note = ("new account used as a pass-through: fiat in, almost all out as crypto to fresh addresses within "
            "hours, no trading" if sar else "fiat in and most of it out as crypto quickly; one or two cycles")
    return p.alert(a, K.RAPID, keys, facts, strength, "pass_through", notes=note)


def pass_through_trader(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: active trader moving funds to their own account at another exchange, long same history."""
    p.profile(a, kind="individual", age_days=p.u(400, 1800), at=t, kyc=p.pick((2, 3)),
              income=p.u(60_000, 220_000), occupation=p.pick(("trader", "software engineer", "engineer",
                                                                "accountant", "sales manager")))
    asset, chain = p.pick((("BTC", "bitcoin"), ("USDT", "ethereum"), ("USDT", "tron"), ("ETH", "ethereum")))
    exch = p.fresh_address(chain)
    p.sc.add_label(exch, chain, "exchange", f"{p.pick(('Kestrel Trade', 'Harbor Digital', 'Aurum X'))}"
                   " (customer deposit address)", p.snapshot)
    for s in p.times(t - 40 * DAY, 150 * DAY, p.LN(4, 7)):
        dep = p.fiat_in(a, s, p.LA(p.u(1_500, 12_000)))
        for _ in range(p.i(2, 5)):
            p.trade(a, s + p.T(p.i(1, 20) * HOUR), p.usd_of(dep) * p.u(0.1, 0.4))
        p.crypto_out(a, s + p.T(p.i(20, 60) * HOUR), p.usd_of(dep) * p.u(0.7, 1.0), asset, chain, exch)
    s = t - p.T(p.i(20, 60) * HOUR)
    for ts in p.times(t - HOUR, 26 * DAY, p.LN(15, 40)):
        p.trade(a, ts, p.LA(p.u(100, 6_000)))
    dep = p.fiat_in(a, s, p.LA(p.u(2_000, 14_000)))
    out = p.crypto_out(a, t, p.usd_of(dep) * p.u(0.72, 1.0), asset, chain, exch)
    facts = {"cycles": 1, "fiat_in": p.usd_of(dep), "crypto_out": p.usd_of(out),
             "pct": 100 * p.usd_of(out) / p.usd_of(dep), "hours": (t - s) / HOUR, "asset": asset}
    return p.alert(a, K.RAPID, [dep, out], facts, "close", "none", variant="active_trader",
                   notes="active trader sending to their own account at another exchange, same pattern for months")


def pass_through_own_wallet(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: buys crypto and moves it to a long-used personal wallet (transfer between own accounts)."""
    p.profile(a, kind="individual", age_days=p.u(300, 2000), at=t, kyc=p.pick((2, 3)),
              income=p.u(45_000, 130_000))
    asset, chain = p.pick((("BTC", "bitcoin"), ("ETH", "ethereum"), ("SOL", "solana")))
    own = p.w.personal_address(a, chain)
    for s in p.times(t - 35 * DAY, 180 * DAY, p.LN(3, 6)):
        dep = p.fiat_in(a, s, p.LA(p.u(500, 5_000)))
        p.trade(a, s + p.T(p.i(1, 10) * HOUR), p.usd_of(dep) * 0.9, asset)
        p.crypto_out(a, s + p.T(p.i(12, 96) * HOUR), p.usd_of(dep) * p.u(0.6, 0.95), asset, chain, own)
    s = t - p.T(p.i(4, 48) * HOUR)
    dep = p.fiat_in(a, s, p.LA(p.u(1_000, 8_000)), memo=p.pick(("monthly savings plan", "weekly DCA", None)))
    p.trade(a, s + HOUR, p.usd_of(dep) * 0.95, asset)
    out = p.crypto_out(a, t, p.usd_of(dep) * p.u(0.75, 0.95), asset, chain, own)
    facts = {"cycles": 1, "fiat_in": p.usd_of(dep), "crypto_out": p.usd_of(out),
             "pct": 100 * p.usd_of(out) / p.usd_of(dep), "hours": (t - s) / HOUR, "asset": asset}
    return p.alert(a, K.RAPID, [dep, out], facts, "close", "none", variant="own_wallet",
                   notes="buys and moves to a personal wallet used for months")


def _escalating(p: Planter, n: int, first: tuple[float, float], growth: tuple[float, float]) -> list[float]:
    x = p.u(*first)
    out = []
    for _ in range(n):
        out.append(x)
        x *= p.u(*growth)
    return out


def scam_victim(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 60+ customer, 4+ escalating deposits bought and sent to ONE new address that reaches a scam
    address in 1-2 hops; escalate: 3 escalating deposits to one new address, no scam link found."""
    sar = strength == "sar"
    year = 1970 + t // (365 * DAY)
    age = p.i(60, 82) if sar else p.i(55, 78)
    income = p.u(16_000, 38_000) if sar else p.u(25_000, 48_000)
    p.profile(a, kind="individual", age_days=p.pick((p.u(60, 120), p.u(300, 2500))), at=t, kyc=2,
              income=income, occupation="retired" if age >= 63 else p.pick(("teacher", "civil servant")),
              birth_year=year - age)
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(2, 5))
    n = p.i(4, 7) if sar else 3
    amounts = _escalating(p, n, (800, 3_000), (1.35, 2.0))
    target = income * p.u(1.3, 2.5) if sar else income * p.u(0.3, 0.7)
    amounts = [x * target / sum(amounts) for x in amounts]
    asset, chain = p.pick((("USDT", "ethereum"), ("ETH", "ethereum")))
    dest = p.fresh_address(chain)
    scam_addr, category = p.pick(p.sc.phishing)
    via = p.fresh_address(chain) if p.chance(0.4) else None
    memos = ("investment platform deposit", "tax to release my profit", "for Daniel", "trading account top up",
             "withdrawal fee", None)
    fired: list[int] = []
    key: list[int] = []
    sent = 0.0
    for s, usd in zip(p.times(t - p.T(8 * HOUR), min(p.T(p.u(16, 27) * DAY), 27 * DAY), n), amounts, strict=True):
        dep = p.fiat_in(a, s, usd, memo=p.pick(memos))
        p.trade(a, s + p.T(p.i(1, 5) * HOUR), p.usd_of(dep) * 0.99, asset)
        out = p.crypto_out(a, s + p.T(p.i(6, 8) * HOUR), p.usd_of(dep) * p.u(0.95, 0.99), asset, chain, dest)
        fired.append(dep)
        key += [dep, out]
        sent += p.usd_of(out)
        if sar:
            ts = p.ledger.txns[out][0] + p.i(1, 10) * HOUR
            if via:
                p.hop(ts, chain, dest, via, asset, p.usd_of(out) * 0.99)
                p.hop(ts + p.i(1, 5) * HOUR, chain, via, scam_addr, asset, p.usd_of(out) * 0.98)
            else:
                p.hop(ts, chain, dest, scam_addr, asset, p.usd_of(out) * 0.99)
    if sar:
        path = [p.aid(a), dest, *([via] if via else []), scam_addr]
        p.ledger.exposures.append({"account_id": p.aid(a), "address": scam_addr, "category": category,
                                   "hops": len(path) - 1, "path": path, "usd": round(sent * 0.98, 2),
                                   "direction": "out", "chain": chain})
    usd = [p.usd_of(k) for k in fired]
    facts = {"n": n, "total": sum(usd), "income": float(p.w.income[a]), "max": max(usd), "first_usd": min(usd),
             "age": age}
    note = ("older customer sending escalating deposits to one new address that feeds a scam address"
            if sar else "older customer, escalating deposits to one new address, no scam link yet")
    return p.alert(a, K.PROF, fired, facts, strength, "scam_victim", key=key, notes=note)


def scam_victim_investor(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: young, high-income investor buying and withdrawing to a long-used own address."""
    year = 1970 + t // (365 * DAY)
    p.profile(a, kind="individual", age_days=p.u(300, 1800), at=t, kyc=p.pick((2, 3)),
              income=p.u(150_000, 400_000), birth_year=year - p.i(22, 38),
              occupation=p.pick(("software engineer", "doctor", "lawyer", "trader")))
    asset, chain = p.pick((("BTC", "bitcoin"), ("ETH", "ethereum"), ("SOL", "solana")))
    own = p.w.personal_address(a, chain)
    for s in p.times(t - 40 * DAY, 150 * DAY, p.LN(2, 4)):
        p.crypto_out(a, s, p.LA(p.u(500, 4_000)), asset, chain, own)
    n = p.LN(3, 5)
    amounts = _escalating(p, n, (p.LA(3_000), p.LA(8_000)), (1.2, 1.8))
    fired: list[int] = []
    for s, usd in zip(p.times(t - p.T(8 * HOUR), min(p.T(p.u(14, 27) * DAY), 27 * DAY), n), amounts, strict=True):
        dep = p.fiat_in(a, s, usd)
        p.trade(a, s + p.T(p.i(1, 5) * HOUR), p.usd_of(dep) * 0.98, asset)
        p.crypto_out(a, s + p.T(p.i(6, 8) * HOUR), p.usd_of(dep) * p.u(0.6, 0.95), asset, chain, own)
        fired.append(dep)
    usd = [p.usd_of(k) for k in fired]
    facts = {"n": n, "total": sum(usd), "income": float(p.w.income[a]), "max": max(usd), "first_usd": min(usd),
             "age": None}
    return p.alert(a, K.PROF, fired, facts, "close", "none", variant="young_investor",
                   notes="high-income investor moving purchases to a personal wallet used for months")
