"""Benign look-alikes that raise TM-VEL-07 like the graph shapes do: merchants, payroll, friends
paying each other back, an OTC desk, splitting a holiday bill.

What separates them from the laundering shapes is what a reviewer checks: declared business and
turnover, recurring established counterparties, varied amounts, and a long history of the same.
"""

from __future__ import annotations

from evals.synth import constants as K
from evals.synth.constants import DAY, HOUR
from evals.synth.ledger import PlantedAlert
from evals.synth.planter import Planter
from evals.synth.scenarios.graphs import _vel


def _lognormal(p: Planter, median: float, sigma: float, lo: float, hi: float) -> float:
    return float(min(max(median * p.py.lognormvariate(0, sigma), lo), hi))


def merchant_payments(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close (fan_in look-alike): declared merchant collecting many varied small payments."""
    p.profile(a, kind="business", age_days=p.u(400, 2500), at=t, kyc=3, income=p.u(200_000, 1_500_000),
              occupation=p.pick(("coffee roaster", "online retail", "restaurant", "web shop accepting crypto")))
    customers = p.borrow(p.LN(25, 40), t - 200 * DAY, {a})
    for ts in p.times(t - 9 * DAY, 120 * DAY, p.LN(20, 40)):
        p.transfer(p.pick(customers), a, ts, _lognormal(p, p.LA(60), 0.8, p.LA(5), p.LA(900)), memo=p.pick(
            (None, None, f"order {p.i(1000, 9999)}")))
    n = p.LN(12, 30)
    payers = [customers[j % len(customers)] for j in p.rng.permutation(len(customers))[:n]]
    payers += [p.pick(customers) for _ in range(n - len(payers))]
    fired = [p.transfer(c, a, ts, _lognormal(p, p.LA(60), 0.8, p.LA(5), p.LA(900)),
                        memo=p.pick((None, None, "invoice 2291")))
             for c, ts in zip(payers, p.times(t, p.T(p.u(4, 6.8) * DAY), n), strict=True)]
    p.fiat_out(a, t - p.i(1, 3) * DAY, sum(p.usd_of(k) for k in fired) * 0.6, memo="weekly settlement")
    facts = _vel(p, a, fired, [], 7.0)
    return p.alert(a, K.VEL, fired, facts, "close", "none", related=[], variant="merchant",
                   notes="declared merchant; many varied small payments from returning customers")


def payroll(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close (fan_out / scatter_gather look-alike): business paying the same employees monthly."""
    p.profile(a, kind="business", age_days=p.u(500, 2500), at=t, kyc=3, income=p.u(800_000, 4_000_000),
              occupation=p.pick(("software consultancy", "logistics", "marketing agency")))
    staff = p.borrow(p.LN(8, 15), t - 220 * DAY, {a})
    salary = {e: p.LA(p.u(1_500, 6_000)) for e in staff}
    months = p.i(4, 6)
    fired: list[int] = []
    for mth in range(months, -1, -1):
        pay_day = t - mth * 30 * DAY - p.i(2, 6) * HOUR
        if pay_day - 6 * DAY < p.w.start:
            continue
        p.fiat_in(a, pay_day - p.i(2, 5) * DAY, sum(salary.values()) * p.u(1.2, 1.5), memo="client payment")
        for e in staff:
            k = p.transfer(a, e, pay_day + p.i(0, 3 * 3600), salary[e] * p.u(0.98, 1.02),
                           asset=p.pick(("USDT", "USDC")), memo="salary")
            if mth == 0:
                fired.append(k)
    facts = _vel(p, a, [], fired, 1.0)
    return p.alert(a, K.VEL, fired, facts, "close", "none", variant="payroll",
                   notes="monthly payroll to the same employees for months")


def friends_repay(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close (cycle look-alike): A pays B, weeks later B pays back in different amounts."""
    p.profile(a, kind="individual", age_days=p.u(300, 2000), at=t)
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(3, 6))
    friend = p.borrow(1, t - 100 * DAY, {a})[0]
    x = p.LA(p.u(150, 2_500))
    asset = p.w.currency(a)
    first = p.transfer(a, friend, t - min(p.T(p.i(20, 27) * DAY), 29 * DAY), x, asset=asset,
                       memo=p.pick(("concert tickets", "dinner", "holiday", "deposit for the van")))
    back = [p.transfer(friend, a, t - min(p.T(p.i(9, 14) * DAY), 19 * DAY), x * p.u(0.3, 0.6), asset=asset,
                       memo="paying you back")]
    back.append(p.transfer(friend, a, t, x * p.u(0.2, 0.4), asset=asset, memo=p.pick(("rest, thanks!", None))))
    facts = _vel(p, a, back, [first], 27.0)
    facts["returned_pct"] = 100 * sum(p.usd_of(k) for k in back) / p.usd_of(first)
    return p.alert(a, K.VEL, [first, *back], facts, "close", "none", related=[friend], variant="friends_repay",
                   notes="a friend paying back a shared expense over weeks")


def otc_desk(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close (gather_scatter look-alike): OTC business with declared turnover, recurring clients."""
    p.profile(a, kind="business", age_days=p.u(600, 2500), at=t, kyc=3, income=p.u(5e6, 30e6),
              occupation="OTC desk", risk="medium")
    clients = p.borrow(p.LN(10, 16), t - 200 * DAY, {a})
    big = (p.LA(15_000), 0.9, p.LA(2_000), p.LA(120_000))
    for ts in p.times(t - 5 * DAY, 120 * DAY, p.LN(20, 40)):
        c = p.pick(clients)
        if p.chance(0.5):
            p.transfer(c, a, ts, _lognormal(p, *big))
        else:
            p.transfer(a, c, ts, _lognormal(p, *big))
    inbound = [p.transfer(p.pick(clients), a, ts, _lognormal(p, *big))
               for ts in p.times(t - p.T(30 * HOUR), p.T(40 * HOUR), p.LN(5, 9))]
    outbound = [p.transfer(a, p.pick(clients), ts, _lognormal(p, *big))
                for ts in p.times(t, p.T(40 * HOUR), p.LN(5, 9))]
    facts = _vel(p, a, inbound, outbound, 3.0)
    return p.alert(a, K.VEL, inbound + outbound, facts, "close", "none", related=[], variant="otc_desk",
                   notes="licensed OTC desk settling with long-standing clients")


def split_bill(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close (bipartite / stack look-alike): paying friends back after a group trip."""
    p.profile(a, kind="individual", age_days=p.u(300, 2000), at=t)
    friends = p.borrow(p.LN(6, 9), t - 130 * DAY, {a})
    asset = p.w.currency(a)
    for f, ts in zip(friends[:4], p.times(t - 40 * DAY, 80 * DAY, 4), strict=False):
        p.transfer(f, a, ts, p.LA(p.u(20, 200)), asset=asset, memo=p.pick(K.NORMAL_MEMOS))
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(3, 6))
    fired = [p.transfer(a, f, ts, p.LA(p.u(20, 400)), asset=asset,
                        memo=p.pick(("trip", "holiday", "villa share", "ski trip", None)))
             for f, ts in zip(friends, p.times(t, p.T(p.u(2, 6) * DAY), len(friends)), strict=True)]
    facts = _vel(p, a, [], fired, 7.0)
    return p.alert(a, K.VEL, fired, facts, "close", "none", related=[], variant="split_bill",
                   notes="settling a group holiday with friends; small varied amounts, known counterparties")
