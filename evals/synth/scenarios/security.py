"""Account-level typologies: account_takeover, mule_network, p2p_fraud, and their look-alikes.

Takeover subjects get their whole history planted (no background rows at all) so that "share of the
balance" is well defined: balance = USD in minus USD out, and the planted history keeps it positive.
"""

from __future__ import annotations

import numpy as np

from evals.synth import constants as K
from evals.synth.constants import DAY, HOUR
from evals.synth.ledger import PlantedAlert
from evals.synth.planter import Planter

ATO_RAILS = (("BTC", "bitcoin"), ("ETH", "ethereum"), ("USDT", "tron"), ("USDT", "ethereum"))


def _history(p: Planter, a: int, t_end: int, own: str, asset: str, chain: str) -> float:
    """Months of ordinary use from the usual devices; returns the USD balance left at t_end."""
    t0 = max(int(p.w.registered[a]) + HOUR, p.w.start)
    n = int(np.clip((t_end - t0) / (5 * DAY), 6, 40))
    bal = 0.0
    scale = float(600 * np.clip(p.w.wealth[a], 0.5, 6))
    for j, ts in enumerate(sorted(p.py.randrange(t0, t_end) for _ in range(n))):
        ts = max(p.daytime(a, ts), t0)
        p.login(a, ts - p.i(60, 3600))
        r = p.py.random()
        if j < 2 or r < 0.45 or bal < 500:
            k = p.fiat_in(a, ts, scale * p.u(0.5, 2.5))
            bal += p.usd_of(k)
            p.trade(a, ts + p.i(600, 7200), p.usd_of(k) * 0.9, asset)
        elif r < 0.75:
            p.trade(a, ts, bal * p.u(0.05, 0.3))
        else:
            k = p.crypto_out(a, ts, bal * p.u(0.05, 0.25), asset, chain, own)
            bal -= p.usd_of(k)
        if p.chance(0.3):
            p.login(a, ts + p.i(3600, 20 * HOUR), "logout")
    return bal


def account_takeover(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: new device + new country + 2FA reset/password change, then >=80% of the balance to a
    never-seen address; escalate: new device + new country, new address, no security change;
    close: new phone at home, no security change, withdrawal to a previously used address."""
    p.profile(a, kind="individual", age_days=p.u(200, 1500), at=t, kyc=p.pick((2, 3)))
    p.hush([a], p.w.start, p.w.end)
    p.manual_logins.add(a)
    asset, chain = p.pick(ATO_RAILS)
    own = p.w.personal_address(a, chain)
    h_login = p.T(p.u(6, 60))
    t_login = t - int(h_login * HOUR)
    bal = _history(p, a, t_login - p.i(1, 4) * DAY, own, asset, chain)
    if bal < 3_000:
        k = p.fiat_in(a, t_login - p.i(5, 9) * DAY, 3_000 - bal + p.u(500, 5_000))
        p.trade(a, p.ledger.txns[k][0] + HOUR, p.usd_of(k), asset)
        bal += p.usd_of(k)
    home = p.w.country_code(a)
    device = p.fresh_device()
    events: list[str] = []
    if strength == "close":
        country, ip = home, p.fresh_ip(foreign=False) if p.chance(0.5) else p.w.home_ip(a)
    else:
        country = p.pick([c for c in K.COUNTRY_CODES if c != home])
        ip = p.fresh_ip()
        for _ in range(p.i(0, 3)):
            p.login(a, t_login - p.i(60, 1800), "failed_login", device, ip, country)
    p.login(a, t_login, "login", device, ip, country)
    if strength == "sar":
        events = [p.pick(("2fa_reset", "password_change"))]
        if p.chance(0.6):
            events.append("password_change" if events[0] == "2fa_reset" else "2fa_reset")
        if p.chance(0.3):
            events.append("email_change")
        for j, ev in enumerate(events):
            p.login(a, min(t_login + int(p.T(p.u(0.2, 40)) * HOUR) + j * 600, t - 900), ev, device, ip, country)
    frac = {"sar": p.u(0.85, 0.99), "escalate": p.u(0.5, 0.8), "close": p.u(0.3, 0.8)}[strength]
    dst = own if strength == "close" else p.fresh_address(chain)
    p.login(a, t - p.i(60, 600), "login", device, ip, country)
    out = p.crypto_out(a, t, bal * frac, asset, chain, dst)
    facts = {"usd": p.usd_of(out), "asset": asset, "hours": h_login, "device": device, "country": country,
             "address": dst, "pct": 100 * frac, "events": events, "home": home}
    notes = {"sar": "login from a new device abroad, security settings reset, balance sent to a new address",
             "escalate": "new device from a new country and a withdrawal to a new address, no security change",
             "close": "customer's new phone at home, withdrawal to an address used before"}[strength]
    return p.alert(a, K.ATO, [out], facts, strength, "account_takeover" if strength != "close" else "none",
                   variant="" if strength != "close" else "new_phone", notes=notes)


def mule_network(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 4-8 new low-KYC accounts on one device/IP, each forwarding >=80% of fiat in to one collector
    within 48 h; escalate: 3 accounts sharing a device, partial forwarding."""
    sar = strength == "sar"
    k = p.size(p.wp.mule_sar) if sar else p.size(p.wp.mule_esc)
    year = 1970 + t // (365 * DAY)
    mules = [a, *p.take_many(k - 1, t - 40 * DAY)]
    collector = p.take_many(1, t - 120 * DAY)[0]
    p.profile(collector, age_days=p.u(100, 700), at=t, kyc=p.pick((1, 2)))
    device, ip = p.fresh_device(), p.fresh_ip(foreign=False)
    span = min(p.T(p.u(8, 20) * DAY), 26 * DAY)
    fired: list[int] = []
    key: list[int] = []
    total_fwd = 0.0
    for m in mules:
        p.profile(m, kind="individual", age_days=p.u(35, 85) if sar else p.u(40, 400), at=t,
                  kyc=p.pick((0, 1)) if sar else p.pick((1, 2)), birth_year=year - p.i(18, 27),
                  occupation=p.pick(("student", "unemployed", "shop assistant")), risk="medium")
        p.manual_logins.add(m)
        p.baseline(m, t - 90 * DAY, t - 32 * DAY, p.i(1, 3))
        for ts in p.times(t - p.T(p.i(2, 30) * HOUR) if m == a else t - p.T(p.i(30, 90) * HOUR), span, p.i(1, 3)):
            p.login(m, ts - p.i(600, 7200), "login", device, ip)
            dep = p.fiat_in(m, ts, p.A(p.u(500, 4_000)))
            hours = p.T(p.u(2, 40) if sar else p.u(30, 90))
            frac = p.u(0.82, 0.97) if sar else p.u(0.4, 0.7)
            fwd = p.transfer(m, collector, ts + int(hours * HOUR), p.usd_of(dep) * frac,
                             asset=p.pick((p.w.currency(m), "USDT")))
            total_fwd += p.usd_of(fwd)
            key += [dep, fwd]
            if m == a:
                fired += [dep, fwd]
    asset, chain = p.pick((("USDT", "tron"), ("BTC", "bitcoin")))
    cash_out = p.crypto_out(collector, t + p.T(p.i(2, 20) * HOUR), total_fwd * p.u(0.9, 0.98), asset, chain,
                            p.fresh_address(chain))
    if sar:
        key.append(cash_out)
    p.hush([*mules, collector], t - 31 * DAY, t + 3 * DAY)
    facts = {"device": device, "ip": ip, "n_accounts": k, "accounts": [p.aid(m) for m in mules],
             "shared": "device and IP"}
    note = ("new low-KYC accounts on one device each pass their deposits to the same collector" if sar
            else "three accounts share a device and partly forward funds to one account")
    return p.alert(a, K.DEV, fired, facts, strength, "mule_network", related=[*mules, collector], key=key,
                   notes=note)


def mule_family(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: family or office sharing an IP (sometimes a device), no common collector, ordinary use."""
    k = p.LN(3, 5)
    members = [a, *p.take_many(k - 1, t - 200 * DAY)]
    country = p.w.country_code(a)
    ip = p.fresh_ip(foreign=False)
    device = p.fresh_device() if p.chance(0.5) else None
    fired: list[int] = []
    for m in members:
        p.profile(m, kind="individual", age_days=p.u(200, 2000), at=t, kyc=p.pick((2, 3)), country=country)
        p.manual_logins.add(m)
        for ts in p.times(t - p.i(1, 60) * HOUR, 25 * DAY, p.i(2, 5)):
            p.login(m, ts - p.i(300, 3600), "login", device if device and p.chance(0.5) else None, ip, country)
            r = p.py.random()
            if r < 0.4:
                x = p.fiat_in(m, ts, p.LA(p.u(100, 2_000)))
            elif r < 0.8:
                x = p.trade(m, ts, p.LA(p.u(50, 1_500)))
            else:
                ch = p.pick(("bitcoin", "ethereum"))
                x = p.crypto_out(m, ts, p.LA(p.u(100, 1_000)), "BTC" if ch == "bitcoin" else "ETH", ch,
                                 p.w.personal_address(m, ch))
            if m == a:
                fired.append(x)
    if p.chance(0.5):
        p.transfer(members[1], members[0], t - p.i(2, 10) * DAY, p.u(20, 300), asset=p.w.currency(a),
                   memo=p.pick(("for mum", "shared flat bills", "groceries")))
    p.hush(members, t - 31 * DAY, t + 3 * DAY)
    facts = {"device": device, "ip": ip, "n_accounts": k, "accounts": [p.aid(m) for m in members],
             "shared": "device and IP" if device else "IP"}
    return p.alert(a, K.DEV, fired, facts, "close", "none", related=members, variant="family_office",
                   notes="household or office sharing an IP; no common collector, ordinary activity")


def _merchants(p: Planter, before: int, n: int, exclude: set[int]) -> list[int]:
    m = p.merchants[p.w.registered[p.merchants] < before]
    pool = [int(x) for x in m if int(x) not in exclude]
    if len(pool) < n:
        pool += p.borrow(n - len(pool), before, exclude)
    return [pool[int(j)] for j in p.rng.choice(len(pool), size=n, replace=len(pool) < n)]


def p2p_fraud(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: new account, 3+ disputes/chargebacks, third-party payers on several orders;
    escalate: 1-2 disputes and one third-party payer."""
    sar = strength == "sar"
    p.profile(a, kind="individual", age_days=p.u(40, 85) if sar else p.u(90, 900), at=t,
              kyc=1 if sar else p.pick((1, 2)))
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(2, 4))
    n = p.i(6, 10) if sar else p.i(4, 8)
    bad = p.i(3, 5) if sar else p.i(1, 2)
    tpp = set(p.rng.choice(n, size=p.i(3, min(6, n)) if sar else 1, replace=False).tolist())
    statuses = ["chargeback" if p.chance(0.5) else "disputed" for _ in range(bad)] + ["completed"] * (n - bad)
    statuses = [statuses[j] for j in p.rng.permutation(n)]
    if statuses[-1] == "completed":  # the rule fires on the latest dispute
        j = statuses.index("chargeback") if "chargeback" in statuses else statuses.index("disputed")
        statuses[j], statuses[-1] = statuses[-1], statuses[j]
    sellers = _merchants(p, t - 60 * DAY, n, {a})
    chats = ("payment from my cousin's account, same thing", "my friend paid for me", "release pls, paid",
             "bank says sent", None)
    fired: list[int] = []
    key: list[int] = []
    got = 0.0
    for j, ts in enumerate(p.times(t - 2 * HOUR, min(p.T(p.u(6, 20) * DAY), 26 * DAY), n)):
        method = p.pick(("card", "bank_transfer", "wise"))
        _, tx = p.p2p(a, sellers[j], ts, p.A(p.u(150, 2_500)), statuses[j], method=method, third_party=j in tpp,
                      chat=p.pick(chats) if j in tpp else None)
        if tx is not None:
            key.append(tx)
            got += p.usd_of(tx)
            if statuses[j] != "completed":
                fired.append(tx)
    out = p.crypto_out(a, t + HOUR, got * p.u(0.7, 0.95), "USDT", "tron", p.fresh_address("tron"))
    if sar:
        key.append(out)
    facts = {"orders": n, "disputes": statuses.count("disputed"), "chargebacks": statuses.count("chargeback"),
             "third_party": len(tpp), "role": "buyer"}
    note = ("new account buying with third-party payments, several chargebacks" if sar
            else "a dispute or two and one third-party payment")
    return p.alert(a, K.P2P, fired, facts, strength, "p2p_fraud", related=sellers, key=key, notes=note)


def p2p_merchant(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: long-standing P2P merchant with one dispute among many completed orders."""
    p.profile(a, kind=p.pick(("individual", "business")), age_days=p.u(500, 2500), at=t, kyc=3)
    buyers = p.borrow(40, t - 190 * DAY, {a})
    for ts in p.times(t - 32 * DAY, 150 * DAY, p.i(30, 60)):
        p.p2p(p.pick(buyers), a, ts, p.LA(p.u(50, 1_500)), "completed", method=p.pick(("bank_transfer", "wise")))
    fired: list[int] = []
    n = p.LN(10, 20)
    times = p.times(t, 25 * DAY, n)
    for ts in times[:-1]:
        p.p2p(p.pick(buyers), a, ts, p.LA(p.u(50, 1_500)), "completed", method=p.pick(("bank_transfer", "wise")))
    _, tx = p.p2p(p.pick(buyers), a, times[-1], p.LA(p.u(80, 1_200)), "disputed", method="bank_transfer",
                  chat=p.pick(("payment not received yet?", "I sent it, check again", None)))
    if tx is not None:
        fired.append(tx)
    facts = {"orders": n, "disputes": 1, "chargebacks": 0, "third_party": 0, "role": "seller"}
    return p.alert(a, K.P2P, fired, facts, "close", "none", variant="p2p_merchant",
                   notes="established P2P merchant; one dispute among many completed orders")
