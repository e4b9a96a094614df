"""AMLSim-style graph shapes over internal transfers: fan_in, fan_out, cycle, scatter_gather,
gather_scatter, bipartite, stack (sar and escalate strengths).

Ring members are accounts reserved for the story (young accounts, quiet in the window) so that the
shape is exactly what the graph tools find; uniform amounts and tight timing mark the sar strength.
"""

from __future__ import annotations

from evals.synth import constants as K
from evals.synth.constants import DAY, HOUR
from evals.synth.ledger import PlantedAlert
from evals.synth.planter import Planter


def _subject(p: Planter, a: int, t: int) -> None:
    p.profile(a, kind="individual", age_days=p.u(60, 900), at=t, kyc=p.pick((1, 2)))
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(3, 6))


def _ring(p: Planter, n: int, t: int, young: bool = True) -> list[int]:
    ring = p.take_many(n, t - 60 * DAY)
    for r in ring:
        p.profile(r, kind="individual", age_days=p.u(40, 200) if young else p.u(200, 1500), at=t,
                  kyc=p.pick((1, 1, 2)))
    p.hush(ring, t - 31 * DAY, t + 3 * DAY)
    return ring


def _amount(p: Planter, base: float, sar: bool) -> float:
    return base * (p.u(0.97, 1.03) if sar else p.u(0.9, 1.1))


def _vel(p: Planter, a: int, inbound: list[int], outbound: list[int], days: float) -> dict[str, object]:
    cps = {p.ledger.txns[k][5] for k in inbound} | {p.ledger.txns[k][6] for k in outbound}
    return {"n_in": len(inbound), "n_out": len(outbound), "in_total": sum(p.usd_of(k) for k in inbound),
            "out_total": sum(p.usd_of(k) for k in outbound), "counterparties": len(cps - {p.aid(a)}),
            "days": round(days, 1), "direction": "both" if inbound and outbound else ("in" if inbound else "out")}


def _cash_out(p: Planter, acc: int, ts: int, usd: float) -> int:
    asset, chain = p.pick((("USDT", "tron"), ("BTC", "bitcoin"), ("USDT", "ethereum")))
    return p.crypto_out(acc, ts, usd, asset, chain, p.fresh_address(chain))


def fan_in(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 10+ senders in 7 d, uniform amounts, subject forwards out; escalate: 6-9 senders."""
    sar = strength == "sar"
    _subject(p, a, t)
    k = p.size(p.wp.fan_sar) if sar else p.size(p.wp.fan_esc)
    senders = _ring(p, k, t)
    base = p.A(p.u(900, 4_900))
    span = p.T(p.u(2, 6.5) * DAY)
    inbound: list[int] = []
    for s, ts in zip(senders, p.times(t - p.T(p.i(10, 30) * HOUR), span, k), strict=True):
        p.fiat_in(s, ts - p.T(p.i(2, 30) * HOUR), base * 1.05)
        inbound.append(p.transfer(s, a, ts, _amount(p, base, sar)))
    got = sum(p.usd_of(x) for x in inbound)
    outbound = [_cash_out(p, a, t, got * (p.u(0.85, 0.97) if sar else p.u(0.4, 0.7)))]
    facts = _vel(p, a, inbound, [], span / DAY)
    note = "many new accounts send near-identical amounts, collected and sent on" if sar else \
        "several accounts send similar amounts in a week"
    return p.alert(a, K.VEL, inbound, facts, strength, "fan_in", related=senders, key=inbound + outbound,
                   notes=note)


def fan_out(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: subject pays 10+ new accounts uniform amounts in 7 d, recipients cash out; escalate: 6-9."""
    sar = strength == "sar"
    _subject(p, a, t)
    k = p.size(p.wp.fan_sar) if sar else p.size(p.wp.fan_esc)
    recips = _ring(p, k, t)
    base = p.A(p.u(700, 3_500))
    span = p.T(p.u(2, 6.5) * DAY)
    times = p.times(t, span, k)
    fund = p.crypto_in(a, times[0] - p.T(p.i(3, 30) * HOUR), base * k * 1.04, "USDT", "tron",
                       p.fresh_address("tron"))
    outbound: list[int] = []
    key = [fund]
    for r, ts in zip(recips, times, strict=True):
        tr = p.transfer(a, r, ts, _amount(p, base, sar))
        outbound.append(tr)
        if sar or p.chance(0.5):
            key.append(_cash_out(p, r, ts + p.T(p.i(2, 40) * HOUR), p.usd_of(tr) * p.u(0.8, 0.98)))
    facts = _vel(p, a, [], outbound, span / DAY)
    note = "pays many new accounts identical amounts; they cash out at once" if sar else \
        "pays several accounts similar amounts; some cash out"
    return p.alert(a, K.VEL, outbound, facts, strength, "fan_out", related=recips, key=outbound + key,
                   notes=note)


def cycle(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: funds leave and return via 2-4 intermediaries within 7 d, >=80% back; escalate: 50-80% back."""
    sar = strength == "sar"
    _subject(p, a, t)
    m = p.size(p.wp.cycle_sar) if sar else p.size(p.wp.cycle_esc)
    mids = _ring(p, m, t)
    rounds = p.i(1, 2) if sar else 1
    x0 = p.A(p.u(3_000, 30_000))
    p.fiat_in(a, t - p.T(8 * DAY), x0 * 1.02)
    keys: list[int] = []
    ts = t - p.T(p.i(3, 6) * DAY)
    for r in range(rounds):
        order = mids if r == 0 else list(reversed(mids))
        x = x0 * (1 if r == 0 else p.u(0.6, 0.9))
        chain = [a, *order, a]
        for j in range(len(chain) - 1):
            if j == 1 and not sar:
                keep = p.u(0.2, 0.48)
                _cash_out(p, chain[j], ts + p.T(HOUR), x * keep)
                x *= 1 - keep
            keys.append(p.transfer(chain[j], chain[j + 1], ts, x))
            x *= p.u(0.95, 0.995)
            ts += p.T(p.i(2, 18) * HOUR)
    back = [k for k in keys if p.ledger.txns[k][6] == p.aid(a)]
    out = [k for k in keys if p.ledger.txns[k][5] == p.aid(a)]
    facts = _vel(p, a, back, out, (p.ledger.txns[keys[-1]][0] - p.ledger.txns[keys[0]][0]) / DAY)
    facts["returned_pct"] = 100 * sum(p.usd_of(k) for k in back) / sum(p.usd_of(k) for k in out)
    note = "money goes round through other accounts and comes back almost whole" if sar else \
        "one loop through other accounts with part of the money returning"
    return p.alert(a, K.VEL, keys, facts, strength, "cycle", related=mids, notes=note)


def scatter_gather(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: subject -> 5+ intermediaries -> one sink within 72 h; escalate: 3-4 intermediaries."""
    sar = strength == "sar"
    _subject(p, a, t)
    k = p.size(p.wp.sg_sar) if sar else p.size(p.wp.sg_esc)
    mids = _ring(p, k, t)
    sink = _ring(p, 1, t)[0]
    base = p.A(p.u(1_000, 6_000))
    t0 = t - p.T(p.i(50, 70) * HOUR)
    p.fiat_in(a, t0 - p.T(p.i(5, 40) * HOUR), base * k * 1.05)
    outbound: list[int] = []
    key: list[int] = []
    for mid, ts in zip(mids, p.times(t0 + p.T(p.i(2, 20) * HOUR), p.T(20 * HOUR), k), strict=True):
        tr = p.transfer(a, mid, ts, _amount(p, base, sar))
        outbound.append(tr)
        fwd = p.transfer(mid, sink, ts + p.T(p.i(3, 40) * HOUR), p.usd_of(tr) * (p.u(0.9, 0.99) if sar
                                                                           else p.u(0.6, 0.9)))
        key += [tr, fwd]
    _cash_out(p, sink, t + p.T(p.i(1, 10) * HOUR), base * k * 0.8)
    facts = _vel(p, a, [], outbound, 1.0)
    note = "spreads money over several accounts that all pay the same receiver" if sar else \
        "a few accounts receive from the subject and pay one common account"
    return p.alert(a, K.VEL, outbound, facts, strength, "scatter_gather", related=[*mids, sink], key=key,
                   notes=note)


def gather_scatter(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 5+ senders in, then 5+ recipients out within 72 h; escalate: 3-4 on each side."""
    sar = strength == "sar"
    _subject(p, a, t)
    k1 = p.size(p.wp.sg_sar) if sar else p.size(p.wp.sg_esc)
    k2 = p.size(p.wp.sg_sar) if sar else p.size(p.wp.sg_esc)
    ring = _ring(p, k1 + k2, t)
    senders, recips = ring[:k1], ring[k1:]
    base = p.A(p.u(1_000, 5_000))
    t0 = t - p.T(p.i(55, 70) * HOUR)
    inbound = [p.transfer(s, a, ts, _amount(p, base, sar))
               for s, ts in zip(senders, p.times(t0 + p.T(30 * HOUR), p.T(p.u(20, 30) * HOUR), k1), strict=True)]
    for s, k in zip(senders, inbound, strict=True):
        p.fiat_in(s, p.ledger.txns[k][0] - p.T(p.i(2, 20) * HOUR), p.usd_of(k) * 1.03)
    got = sum(p.usd_of(k) for k in inbound)
    share = (p.u(0.85, 0.97) if sar else p.u(0.6, 0.85)) / k2
    outbound = [p.transfer(a, r, ts, got * share * p.u(0.95, 1.05))
                for r, ts in zip(recips, p.times(t, p.T(p.u(10, 24) * HOUR), k2), strict=True)]
    facts = _vel(p, a, inbound, outbound, 3.0)
    note = "collects from several accounts and pays it on to several others within days" if sar else \
        "a few payments in and a few out within days"
    return p.alert(a, K.VEL, inbound + outbound, facts, strength, "gather_scatter", related=ring, notes=note)


def bipartite(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 3-5 senders (subject among them) each pay each of 3-5 receivers; escalate: partial."""
    sar = strength == "sar"
    _subject(p, a, t)
    g = p.size(p.wp.bip_sar) if sar else p.size(p.wp.bip_esc)
    r = p.size(p.wp.bip_sar) if sar else p.size(p.wp.bip_esc)
    others = _ring(p, g - 1 + r, t)
    senders, recips = [a, *others[: g - 1]], others[g - 1:]
    base = p.A(p.u(500, 3_000))
    edges = [(s, q) for s in senders for q in recips]
    if not sar:
        keep = max(4, round(len(edges) * p.u(0.55, 0.75)))
        picked = sorted(p.rng.choice(len(edges), size=keep, replace=False).tolist())
        edges = [edges[j] for j in picked]
        if sum(1 for s, _ in edges if s == a) < 2:
            edges += [(a, q) for q in recips[:2] if (a, q) not in edges]
    for s in senders:
        p.fiat_in(s, t - p.T(p.i(7, 9) * DAY), base * r * 1.05)
    keys: list[int] = []
    for (s, q), ts in zip(edges, p.times(t, p.T(p.u(3, 6.5) * DAY), len(edges)), strict=True):
        keys.append(p.transfer(s, q, ts, _amount(p, base, sar)))
    own = [k for k in keys if p.ledger.txns[k][5] == p.aid(a)]
    facts = _vel(p, a, [], own, 7.0)
    facts["group"] = len(senders) + len(recips)
    note = "a closed group where every sender pays every receiver" if sar else \
        "a group with many cross payments, not complete"
    return p.alert(a, K.VEL, own, facts, strength, "bipartite", related=others, key=keys,
                   notes=note)


def stack(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: subject -> layer 1 (3+) -> layer 2 (3+) -> sink within 72 h; escalate: 2 layers of 2, no sink.

    The world sets the widths and the number of layers (2 by default); each layer pays every member
    of the next one, the last pays the sink (sar) or cashes out (escalate)."""
    sar = strength == "sar"
    _subject(p, a, t)
    widths = [p.size(p.wp.stack_sar) if sar else p.size(p.wp.stack_esc) for _ in range(p.wp.stack_layers)]
    ring = _ring(p, sum(widths) + (1 if sar else 0), t)
    starts = [sum(widths[:j]) for j in range(len(widths))]
    layers = [ring[s:s + w] for s, w in zip(starts, widths, strict=True)]
    total = p.A(p.u(6_000, 40_000))
    t0 = t - p.T(p.i(55, 68) * HOUR)
    p.fiat_in(a, t0 - p.T(p.i(5, 30) * HOUR), total * 1.03)
    keys: list[int] = []
    out = []
    for m, ts in zip(layers[0], p.times(t0 + p.T(10 * HOUR), p.T(10 * HOUR), widths[0]), strict=True):
        out.append(p.transfer(a, m, ts, total / widths[0] * p.u(0.95, 1.05)))
    keys += out
    got = {m: p.usd_of(k) for m, k in zip(layers[0], out, strict=True)}
    last = {m: p.ledger.txns[k][0] for m, k in zip(layers[0], out, strict=True)}
    for here, nxt in zip(layers, layers[1:], strict=False):
        for m in nxt:
            got[m] = 0.0
        for src in here:
            for m in nxt:
                x = got[src] / len(nxt) * p.u(0.93, 0.99)
                k = p.transfer(src, m, last[src] + p.T(p.i(3, 20) * HOUR), x)
                keys.append(k)
                got[m] += x
                last[m] = max(last.get(m, 0), p.ledger.txns[k][0])
    for m in layers[-1]:
        if sar:
            keys.append(p.transfer(m, ring[-1], last[m] + p.T(p.i(2, 15) * HOUR), got[m] * p.u(0.93, 0.99)))
        else:
            _cash_out(p, m, last[m] + p.T(p.i(5, 30) * HOUR), got[m] * p.u(0.5, 0.9))
    if sar:
        _cash_out(p, ring[-1], t + p.T(p.i(2, 12) * HOUR), total * 0.8)
    facts = _vel(p, a, [], out, 3.0)
    facts["layers"] = len(layers)
    note = "money split through two layers of accounts and gathered again" if sar else \
        "two small layers of onward payments"
    return p.alert(a, K.VEL, out, facts, strength, "stack", related=ring, key=keys, notes=note)
