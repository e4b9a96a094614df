"""On-chain exposure typologies: mixer_exposure, sanctions_exposure, scam_proceeds, and look-alikes.

Paths run through fresh intermediate addresses in `chain_transfers` to a real listed address. Every
intermediate node's flows add up (the part that does not go to the risky address leaves to a
dead-end address), so hop count and USD share mean the same thing to a proportional tracer and to
a "smallest edge on the path" tracer. Each path is recorded in truth/exposure.jsonl.
"""

from __future__ import annotations

from evals.synth import constants as K
from evals.synth.constants import DAY, HOUR
from evals.synth.ledger import PlantedAlert
from evals.synth.planter import Planter

SANCTION_RAILS = {"bitcoin": ("BTC",), "ethereum": ("ETH", "USDT"), "tron": ("USDT",)}


def _fund(p: Planter, a: int, t: int, usd: float, asset: str) -> None:
    """Money the subject later withdraws: a fiat deposit and a buy a few days before."""
    dep = p.fiat_in(a, t, usd)
    p.trade(a, t + p.i(1, 6) * HOUR, p.usd_of(dep) * 0.99, asset)


def exposure_path(p: Planter, a: int, t: int, *, risky: str, category: str, chain: str, asset: str,
                  hops: int, share: float, direction: str, total: float) -> tuple[list[int], float]:
    """Plant `total` USD of crypto flow for the subject with `share` of it linked to `risky` at `hops`.

    Returns the subject's transactions that carry the exposure and the linked USD.
    """
    keys: list[int] = []
    linked = total * share
    if direction == "out":
        _fund(p, a, t - p.i(2, 6) * DAY, total * 1.02, asset)
        main = linked if hops == 1 else max(linked, total * p.u(0.5, 1.0))
        rest = total - main
        if hops == 1:
            k = p.crypto_out(a, t, linked, asset, chain, risky)
            path = [p.aid(a), risky]
        else:
            n1 = p.fresh_address(chain)
            k = p.crypto_out(a, t, main, asset, chain, n1)
            nodes = [n1] + [p.fresh_address(chain) for _ in range(hops - 2)] + [risky]
            ts = t
            for j in range(len(nodes) - 1):
                ts += p.i(1, 10) * HOUR
                p.hop(ts, chain, nodes[j], nodes[j + 1], asset, linked * (1 - 0.002 * j))
            if main - linked > 1:
                p.hop(t + p.i(1, 10) * HOUR, chain, n1, p.fresh_address(chain), asset, main - linked)
            path = [p.aid(a), *nodes]
        keys.append(k)
        if rest > 1:
            own = p.w.personal_address(a, chain)
            p.crypto_out(a, t - p.i(1, 3) * DAY, rest, asset, chain, own)
    else:
        if hops == 1:
            k = p.crypto_in(a, t, linked, asset, chain, risky)
            path = [risky, p.aid(a)]
            rest = total - linked
        else:
            n1 = p.fresh_address(chain)
            nodes = [risky] + [p.fresh_address(chain) for _ in range(hops - 2)] + [n1]
            ts = t - (len(nodes) + 1) * 10 * HOUR
            for j in range(len(nodes) - 1):
                ts += p.i(1, 10) * HOUR
                p.hop(ts, chain, nodes[j], nodes[j + 1], asset, linked * (1 + 0.002 * (len(nodes) - j)))
            if total - linked > 1:
                p.hop(ts - p.i(1, 5) * HOUR, chain, p.fresh_address(chain), n1, asset, total - linked)
            k = p.crypto_in(a, t, total, asset, chain, n1)
            path = [*nodes, p.aid(a)]
            rest = 0.0
        keys.append(k)
        if rest > 1:
            p.crypto_in(a, t - p.i(1, 3) * DAY, rest, asset, chain, p.w.personal_address(a, chain))
    p.ledger.exposures.append({"account_id": p.aid(a), "address": risky, "category": category, "hops": hops,
                               "path": path, "usd": round(linked, 2), "share": round(share, 4),
                               "direction": direction, "chain": chain})
    return keys, linked


def _exposure_alert(p: Planter, a: int, t: int, strength: str, typology: str, *, risky: str, category: str,
                    chain: str, asset: str, hops: int, share: float, variant: str = "", notes: str = "",
                    direction: str | None = None) -> PlantedAlert:
    direction = direction or p.pick(("out", "in"))
    p.profile(a, age_days=p.u(120, 1500), at=t)
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(3, 7), wallet_chain=chain)
    total = p.A(p.u(2_000, 40_000)) if strength != "close" else p.LA(p.u(800, 15_000))
    t_tx = t - 14 * HOUR
    keys, linked = exposure_path(p, a, t_tx, risky=risky, category=category, chain=chain, asset=asset,
                                       hops=hops, share=share, direction=direction, total=total)
    counterparty = p.ledger.txns[keys[0]][6 if direction == "out" else 5]
    facts = {"direction": direction, "hops": hops, "share": 100 * share, "usd": p.usd_of(keys[0]),
             "linked": linked, "category": category, "chain": chain, "asset": asset,
             "counterparty": counterparty, "listed": risky}
    typ = typology if strength != "close" else "none"
    return p.alert(a, K.EXPO, keys, facts, strength, typ, variant=variant, notes=notes)


def mixer_exposure(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: direct mixer counterparty or >=25% within 2 hops; escalate: hop 2-3 with 5-25% share."""
    mixer = p.pick(p.sc.mixers)
    if strength == "sar":
        hops = 1 if p.chance(0.5) else 2
        share = p.u(0.6, 1.0) if hops == 1 else p.u(0.3, 0.95)
        note = "funds sent to or received from a mixer directly or via one hop"
    else:
        hops, share = p.pick((2, 3)), p.u(0.06, 0.24)
        note = "part of the flow reaches a mixer two or three hops away"
    return _exposure_alert(p, a, t, strength, "mixer_exposure", risky=mixer, category="mixer",
                           chain="ethereum", asset="ETH", hops=hops, share=share, notes=note)


def _sanctioned(p: Planter) -> tuple[str, str, str]:
    chain = p.pick(sorted(p.sc.sanctioned))
    return p.pick(p.sc.sanctioned[chain]), chain, p.pick(SANCTION_RAILS[chain])


def sanctions_exposure(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: direct send/receive with an OFAC address; escalate: hop 2-3 with >= 5% share."""
    addr, chain, asset = _sanctioned(p)
    if strength == "sar":
        hops, share, note = 1, p.u(0.6, 1.0), "direct transaction with an OFAC-listed address"
    else:
        hops, share = p.pick((2, 3)), p.u(0.06, 0.4)
        note = "indirect exposure to an OFAC-listed address with a material share"
    return _exposure_alert(p, a, t, strength, "sanctions_exposure", risky=addr, category="sanctioned",
                           chain=chain, asset=asset, hops=hops, share=share, notes=note)


def exposure_dust(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: a listed address far away (hop 3-4) with a negligible share of the flow."""
    if p.chance(0.5):
        risky, category, chain, asset = p.pick(p.sc.mixers), "mixer", "ethereum", "ETH"
        hops, share = p.pick((3, 4)), p.u(0.002, 0.018)
    else:
        risky, chain, asset = _sanctioned(p)
        category, hops, share = "sanctioned", 4, p.u(0.001, 0.009)
    return _exposure_alert(p, a, t, "close", "none", risky=risky, category=category, chain=chain, asset=asset,
                           hops=hops, share=share, variant="dust",
                           notes="listed address only at the far end of a path with a negligible share")


def exposure_defi(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: vendor risk score fired on ordinary defi/exchange counterparties only."""
    p.profile(a, age_days=p.u(200, 1500), at=t)
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(3, 7))
    chain = p.pick(("ethereum", "bsc"))
    asset = "USDT" if chain == "bsc" else p.pick(("ETH", "USDC"))
    defi = p.pick(p.sc.labelled[("defi", chain)])
    _fund(p, a, t - 3 * DAY, 6_000, asset)
    keys = [p.crypto_out(a, ts, p.u(300, 2_500), asset, chain, defi) for ts in p.times(t, 2 * DAY, p.i(1, 3))]
    facts = {"direction": "out", "hops": 1, "share": 100.0, "usd": p.usd_of(keys[-1]),
             "linked": sum(p.usd_of(k) for k in keys), "category": "defi", "chain": chain, "asset": asset,
             "counterparty": defi, "listed": None}
    return p.alert(a, K.EXPO, keys, facts, "close", "none", variant="defi_only",
                   notes="only defi/exchange counterparties; the vendor score was a false positive")


def scam_proceeds(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """sar: 8+ inbound deposits from distinct addresses fed by scam addresses, quickly withdrawn;
    escalate: 3-7 such deposits, partly withdrawn."""
    sar = strength == "sar"
    n = p.size(p.wp.scam_in_sar) if sar else p.size(p.wp.scam_in_esc)
    p.profile(a, kind="individual", age_days=p.u(40, 400), at=t, kyc=p.pick((1, 2)))
    asset, chain = p.pick((("USDT", "ethereum"), ("ETH", "ethereum")))
    p.baseline(a, t - 150 * DAY, t - 32 * DAY, p.i(2, 5))
    scams = [p.pick(p.sc.phishing) for _ in range(p.i(2, 4))]
    fired: list[int] = []
    outs: list[int] = []
    pending = 0.0
    times = p.times(t - p.T(20 * HOUR), p.T(p.u(3, 6.5) * DAY), n)
    for j, ts in enumerate(times):
        src = p.fresh_address(chain)
        scam, category = scams[j % len(scams)]
        usd = p.A(p.u(400, 6_000))
        path = [scam]
        if p.chance(0.3):
            mid = p.fresh_address(chain)
            p.hop(ts - p.i(20, 40) * HOUR, chain, scam, mid, asset, usd * 1.01)
            path.append(mid)
        p.hop(ts - p.i(2, 18) * HOUR, chain, path[-1], src, asset, usd * 1.005)
        dep = p.crypto_in(a, ts, usd, asset, chain, src)
        fired.append(dep)
        pending += p.usd_of(dep)
        p.ledger.exposures.append({"account_id": p.aid(a), "address": scam, "category": category,
                                   "hops": len(path) + 1, "path": [*path, src, p.aid(a)],
                                   "usd": round(usd, 2), "direction": "in", "chain": chain})
        if (j % 3 == 2 or j == n - 1) and sar:
            outs.append(p.crypto_out(a, ts + p.T(p.i(2, 18) * HOUR), pending * p.u(0.85, 0.97), asset, chain,
                                     p.fresh_address(chain)))
            pending = 0.0
    if not sar:
        outs.append(p.crypto_out(a, times[-1] + p.T(p.i(10, 18) * HOUR), pending * p.u(0.4, 0.7), asset, chain,
                                 p.fresh_address(chain)))
    rule = p.pick((K.EXPO, K.VEL))
    usd = [p.usd_of(k) for k in fired]
    facts = {"n_in": n, "n_out": len(outs), "in_total": sum(usd), "out_total": sum(p.usd_of(k) for k in outs),
             "counterparties": n, "days": 7, "category": scams[0][1], "chain": chain, "asset": asset,
             "direction": "in", "hops": 2, "share": 100.0, "usd": max(usd), "linked": sum(usd),
             "counterparty": p.ledger.txns[fired[-1]][5], "listed": scams[0][0]}
    note = ("many deposits from fresh addresses funded by scam addresses, passed on within hours" if sar
            else "several deposits linked to scam addresses, partly withdrawn")
    fired_rule = fired if rule == K.VEL else fired[-3:]
    return p.alert(a, rule, fired_rule, facts, strength, "scam_proceeds", key=fired + outs, notes=note)


def scam_proceeds_merchant(p: Planter, a: int, t: int, strength: str) -> PlantedAlert:
    """close: merchant receiving many small crypto payments from unrelated addresses."""
    p.profile(a, kind="business", age_days=p.u(300, 2000), at=t, kyc=3, income=p.u(250_000, 1_500_000),
              occupation=p.pick(("web shop accepting crypto", "online retail")))
    asset, chain = p.pick((("USDT", "tron"), ("USDT", "ethereum"), ("USDC", "ethereum"), ("BTC", "bitcoin")))
    for ts in p.times(t - 35 * DAY, 100 * DAY, p.LN(10, 20)):
        p.crypto_in(a, ts, p.LA(p.u(30, 700)), asset, chain, p.fresh_address(chain))
    n = p.LN(10, 25)
    fired = [p.crypto_in(a, ts, p.LA(p.u(40, 800)), asset, chain, p.fresh_address(chain),
                         memo=p.pick((None, None, f"order #{p.i(10_000, 99_999)}")))
             for ts in p.times(t, p.T(p.u(4, 6.8) * DAY), n)]
    p.fiat_out(a, t - p.i(1, 3) * DAY, sum(p.usd_of(k) for k in fired) * 0.5, memo="settlement")
    usd = [p.usd_of(k) for k in fired]
    facts = {"n_in": n, "n_out": 0, "in_total": sum(usd), "out_total": 0.0, "counterparties": n, "days": 7,
             "direction": "in"}
    return p.alert(a, K.VEL, fired, facts, "close", "none", variant="crypto_merchant",
                   notes="declared crypto-accepting merchant; payers are unrelated customers")
