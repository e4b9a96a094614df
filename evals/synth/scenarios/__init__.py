"""The scenario planner: how many alerts of which typology and strength, and on whom and when.

Mix (data-spec): at least half of the alerts are benign look-alikes (`close`), the rest are spread
evenly over the 16 typologies, each split about 55/45 into sar and escalate. Each typology's benign
share is spread over the look-alikes that raise the same rule. Alerts fall in the last ~60% of the
period; every subject is reserved (one alert per account) and its background is kept out of the
alert window, which the planted story owns.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from evals.synth.constants import DAY
from evals.synth.ledger import Ledger, PlantedAlert
from evals.synth.planter import Planter
from evals.synth.scenarios import benign_graphs as bg
from evals.synth.scenarios import exposure, fiat, graphs, security
from evals.synth.screening import Screening
from evals.synth.world import World
from evals.synth.worlds import DEFAULT, WorldParams
from tools.schema import TYPOLOGIES

Scenario = Callable[[Planter, int, int, str], PlantedAlert]

ACTIONABLE: dict[str, Scenario] = {
    "structuring": fiat.structuring, "pass_through": fiat.pass_through,
    "mixer_exposure": exposure.mixer_exposure, "sanctions_exposure": exposure.sanctions_exposure,
    "scam_proceeds": exposure.scam_proceeds, "scam_victim": fiat.scam_victim,
    "account_takeover": security.account_takeover, "mule_network": security.mule_network,
    "p2p_fraud": security.p2p_fraud, "fan_in": graphs.fan_in, "fan_out": graphs.fan_out, "cycle": graphs.cycle,
    "scatter_gather": graphs.scatter_gather, "gather_scatter": graphs.gather_scatter,
    "bipartite": graphs.bipartite, "stack": graphs.stack,
}
LOOKALIKES: dict[str, tuple[Scenario, ...]] = {
    "structuring": (fiat.structuring_business, fiat.structuring_car_sale),
    "pass_through": (fiat.pass_through_trader, fiat.pass_through_own_wallet),
    "mixer_exposure": (exposure.exposure_dust, exposure.exposure_defi),
    "sanctions_exposure": (exposure.exposure_dust,),
    "scam_proceeds": (exposure.scam_proceeds_merchant,),
    "scam_victim": (fiat.scam_victim_investor,),
    "account_takeover": (security.account_takeover,),
    "mule_network": (security.mule_family,),
    "p2p_fraud": (security.p2p_merchant,),
    "fan_in": (bg.merchant_payments,),
    "fan_out": (bg.payroll,),
    "cycle": (bg.friends_repay,),
    "scatter_gather": (bg.payroll,),
    "gather_scatter": (bg.otc_desk,),
    "bipartite": (bg.split_bill,),
    "stack": (bg.split_bill,),
}
REAL_TYPOLOGIES: tuple[str, ...] = tuple(t for t in TYPOLOGIES if t != "none")
assert set(ACTIONABLE) == set(REAL_TYPOLOGIES) == set(LOOKALIKES)
MAX_DEFAULT_ALERTS = 5_000


def default_alerts(accounts: int) -> int:
    """About one alert per four accounts (500 for 2,000), at least 40, at most 5,000 (and accounts/3)."""
    return int(min(MAX_DEFAULT_ALERTS, max(40, round(accounts / 4)), accounts // 3))


def plan(n_alerts: int, params: WorldParams = DEFAULT,
         rng: np.random.Generator | None = None) -> list[tuple[str, str, Scenario]]:
    """(typology, strength, scenario) for every alert, before shuffling.

    The world says which typologies are planted, the benign share, and whether a typology's
    look-alikes take turns (default) or are drawn at random (`rng`, needed then)."""
    n_close = math.ceil(n_alerts * params.close_share) if params.close_share != 0.5 else math.ceil(n_alerts / 2)
    n_act = n_alerts - n_close
    jobs: list[tuple[str, str, Scenario]] = []
    planted = REAL_TYPOLOGIES if params.typologies is None else tuple(
        t for t in REAL_TYPOLOGIES if t in params.typologies)
    m = len(planted)
    for j, typ in enumerate(planted):
        count = n_act // m + (1 if j < n_act % m else 0)
        sar = max(1, round(count * 0.55)) if count else 0
        jobs += [(typ, "sar", ACTIONABLE[typ])] * sar + [(typ, "escalate", ACTIONABLE[typ])] * (count - sar)
        closes = n_close // m + (1 if j < n_close % m else 0)
        looks = LOOKALIKES[typ]
        if params.lookalike_pick == "random" and rng is not None:
            jobs += [("none", "close", looks[int(rng.integers(len(looks)))]) for _ in range(closes)]
        else:
            jobs += [("none", "close", looks[i % len(looks)]) for i in range(closes)]
    return jobs


def plant(world: World, screening: Screening, rng: np.random.Generator, n_alerts: int,
          progress: Callable[[float], None] | None = None, params: WorldParams = DEFAULT) -> Ledger:
    """Plant every scenario of the world's plan; returns the ledger of planted rows, alerts and truth."""
    p = Planter(world, screening, rng, params)
    jobs = plan(n_alerts, params, rng)
    order = rng.permutation(len(jobs))
    days = (world.end - world.start) / DAY
    lo = world.start + int(max(0.4 * days, min(45.0, 0.7 * days)) * DAY)
    hi = world.end - 3 * DAY
    subjects = [p.take() for _ in jobs]  # subjects first, so rings can never starve them
    for done, j in enumerate(order.tolist()):
        _typ, strength, fn = jobs[j]
        a = subjects[done]
        if a is None:
            break
        t = int(rng.integers(lo, max(lo + 1, hi)))
        p.begin()
        alert = fn(p, a, t, strength)
        window = alert.created_at - 31 * DAY
        p.hush([a], window, alert.created_at + 2 * DAY)
        if not p.has_history(a, window):
            p.baseline(a, window - 120 * DAY, window - DAY, p.i(2, 4))
        if progress and done % 50 == 0:
            progress(done / len(jobs))
    return p.ledger
