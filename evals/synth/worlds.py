"""Worlds: the parameter set one generated dataset is built with (docs/worlds.md).

A world fixes what one exchange's data looks like beyond the seed: its reporting threshold and
currency, the sizes of the planted patterns (fan degrees, cycle lengths, layers), amount and time
scales, rule ids and alert wording, and how the benign look-alikes are built. The `default` world
is the one the committed sample was generated with; its values are literally today's constants, so
it reproduces the sample byte for byte. Other worlds exist so that rules and models can be tuned on
some worlds and measured on others (transfer), never fitted to one generator's constants.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from evals.synth import constants as K

Range = tuple[int, int]
DEFAULT_RULES: tuple[str, ...] = (K.STRUCT, K.RAPID, K.EXPO, K.ATO, K.P2P, K.DEV, K.VEL, K.PROF)
WORDINGS: tuple[str, ...] = ("templates", "generic")
LOOKALIKE_PICKS: tuple[str, ...] = ("cycle", "random")
# Reporting thresholds random worlds draw from: (amount, currency). The jurisdiction profile of
# tools/settings.py lists the same kinds of thresholds; the world only says which one applies.
THRESHOLDS: tuple[tuple[float, str], ...] = ((10_000.0, "USD"), (3_000.0, "USD"), (5_000.0, "GBP"),
                                             (1_000.0, "EUR"), (10_000.0, "GBP"), (15_000.0, "EUR"))


@dataclass(frozen=True)
class WorldParams:
    """Every knob of a world. Ranges are inclusive (lo, hi) draws; scales multiply spans/amounts."""

    name: str = "default"
    # jurisdiction: structuring deposits cluster just under this threshold, in this currency
    threshold: float = K.STRUCT_THRESHOLD_USD
    currency: str = "USD"
    # one factor on every planted time span and lag (0.3 = hours-scale, 2 = weeks-scale stories)
    time_scale: float = 1.0
    # one factor on the amounts of suspicious stories; look-alikes get lookalike_amount on top
    amount_scale: float = 1.0
    # pattern sizes, sar and escalate strength
    struct_sar: Range = (5, 9)
    struct_esc: Range = (3, 4)
    passthrough_sar: Range = (3, 5)
    passthrough_esc: Range = (1, 2)
    scam_in_sar: Range = (8, 14)
    scam_in_esc: Range = (3, 7)
    mule_sar: Range = (4, 8)
    mule_esc: Range = (3, 3)
    fan_sar: Range = (10, 16)
    fan_esc: Range = (6, 9)
    cycle_sar: Range = (2, 4)
    cycle_esc: Range = (1, 2)
    sg_sar: Range = (5, 8)
    sg_esc: Range = (3, 4)
    bip_sar: Range = (3, 5)
    bip_esc: Range = (3, 3)
    stack_sar: Range = (3, 4)
    stack_esc: Range = (2, 2)
    stack_layers: int = 2
    # benign look-alikes: size factor on their counterparty/payment counts, amount factor, and how
    # a typology's look-alikes are chosen (round robin, or at random)
    lookalike_size: float = 1.0
    lookalike_amount: float = 1.0
    lookalike_pick: str = "cycle"
    # monitoring: rule ids in DEFAULT_RULES order (same length), wording of descriptions
    rule_ids: tuple[str, ...] = DEFAULT_RULES
    wording: str = "templates"
    vendor_share: float = 0.05
    # which typologies are planted (None: all); benign share of the alerts
    typologies: tuple[str, ...] | None = None
    close_share: float = 0.5
    notes: str = field(default="", compare=False)

    # ---- derived helpers the scenarios use ---------------------------------------------------
    @property
    def tf(self) -> float:
        """The threshold relative to today's 10,000 (amounts near the threshold scale with it)."""
        return self.threshold / K.STRUCT_THRESHOLD_USD

    def rule(self, default_id: str) -> str:
        """This world's id of one of the default monitoring rules."""
        return self.rule_ids[DEFAULT_RULES.index(default_id)]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (written to truth/world.json and printed by the CLI)."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def validate(self) -> None:
        """Raise ValueError for a world the generator cannot build."""
        if self.threshold <= 0 or self.currency not in K.FIAT:
            raise ValueError(f"world {self.name}: threshold must be > 0 in one of {', '.join(K.FIAT)}")
        if not 0.05 <= self.time_scale <= 2.5:
            raise ValueError(f"world {self.name}: time_scale must be between 0.05 and 2.5")
        if not 0.01 <= self.amount_scale <= 100 or not 0.01 <= self.lookalike_amount <= 100:
            raise ValueError(f"world {self.name}: amount scales must be between 0.01 and 100")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "Range" and not (isinstance(v, tuple) and len(v) == 2 and 1 <= v[0] <= v[1] <= 40):
                raise ValueError(f"world {self.name}: {f.name} must be a range 1 <= lo <= hi <= 40")
        if not 1 <= self.stack_layers <= 5:
            raise ValueError(f"world {self.name}: stack_layers must be between 1 and 5")
        if len(self.rule_ids) != len(DEFAULT_RULES):
            raise ValueError(f"world {self.name}: rule_ids needs {len(DEFAULT_RULES)} ids")
        if self.wording not in WORDINGS or self.lookalike_pick not in LOOKALIKE_PICKS:
            raise ValueError(f"world {self.name}: wording in {WORDINGS}, lookalike_pick in {LOOKALIKE_PICKS}")
        if not 0.1 <= self.close_share <= 0.9 or not 0 <= self.vendor_share <= 1:
            raise ValueError(f"world {self.name}: close_share in [0.1, 0.9], vendor_share in [0, 1]")


DEFAULT = WorldParams()

# The committed cross-world test set (data_samples/lagoon, evals/cases/lagoon.jsonl). Chosen once,
# written down here and in docs/worlds.md, never tuned on: rules and models are tuned on random
# worlds and measured on this one.
LAGOON = WorldParams(
    name="lagoon", threshold=15_000.0, currency="EUR", time_scale=1.7, amount_scale=0.35,
    struct_sar=(4, 7), struct_esc=(2, 3), passthrough_sar=(2, 4), passthrough_esc=(1, 1),
    scam_in_sar=(6, 10), scam_in_esc=(3, 5), mule_sar=(3, 6), mule_esc=(2, 3),
    fan_sar=(7, 11), fan_esc=(4, 6), cycle_sar=(3, 6), cycle_esc=(2, 3), sg_sar=(4, 6), sg_esc=(3, 3),
    bip_sar=(3, 4), bip_esc=(3, 3), stack_sar=(2, 3), stack_esc=(2, 2), stack_layers=3,
    lookalike_size=1.6, lookalike_amount=2.5, lookalike_pick="random",
    rule_ids=("MON-101", "MON-102", "MON-103", "MON-104", "MON-105", "MON-106", "MON-107", "MON-108"),
    wording="generic", vendor_share=0.1,
    notes="cross-world test set: EU threshold, week-scale stories, small amounts, other sizes, generic wording")

NAMED: dict[str, WorldParams] = {
    "default": DEFAULT,
    # every alert reads "Unusual transfer pattern ..." under one rule id: typology must come from evidence
    "generic": replace(DEFAULT, name="generic", wording="generic", rule_ids=("ALERT-1",) * len(DEFAULT_RULES),
                       notes="today's patterns, but one rule id and generic wording for every alert"),
    # a 3,000 USD threshold, hour-scale stories and small amounts
    "small": replace(DEFAULT, name="small", threshold=3_000.0, time_scale=0.35, amount_scale=0.3,
                     notes="3,000 USD threshold, hour-scale stories, small amounts"),
    # graph shapes only, other sizes and spans (like a generator of AMLSim-style patterns)
    "graphs": replace(DEFAULT, name="graphs", typologies=("fan_in", "fan_out", "cycle", "scatter_gather",
                                                           "gather_scatter", "bipartite", "stack"),
                      time_scale=1.5, amount_scale=2.0, fan_sar=(6, 12), fan_esc=(4, 5), cycle_sar=(3, 7),
                      sg_sar=(4, 7), stack_layers=3, wording="generic",
                      notes="graph typologies only, other sizes, day-to-week spans, generic wording"),
    "lagoon": LAGOON,
}


def _range(rng: np.random.Generator, lo: int, hi: int, width: tuple[int, int]) -> Range:
    a = int(rng.integers(lo, hi + 1))
    return a, a + int(rng.integers(width[0], width[1] + 1))


def random_world(seed: int) -> WorldParams:
    """A randomised world drawn from the seed: thresholds, sizes, scales, ids and wording all vary.

    Sar sizes start at or above the top of the escalate sizes of the same world, as in every world
    the issue describes (a clear case is the bigger one), but where they start is drawn.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1414]))
    thr, cur = THRESHOLDS[int(rng.integers(len(THRESHOLDS)))]

    def pair(esc_lo: int, esc_hi: int, w_esc: tuple[int, int], w_sar: tuple[int, int]) -> tuple[Range, Range]:
        esc = _range(rng, esc_lo, esc_hi, w_esc)
        sar = _range(rng, esc[1] + int(rng.integers(0, 2)), esc[1] + 2, w_sar)
        return sar, esc

    struct_sar, struct_esc = pair(2, 3, (0, 1), (1, 4))
    pt_sar, pt_esc = pair(1, 1, (0, 1), (0, 2))
    scam_sar, scam_esc = pair(3, 4, (1, 3), (2, 6))
    mule_sar, mule_esc = pair(2, 3, (0, 1), (1, 4))
    fan_sar, fan_esc = pair(3, 7, (1, 3), (2, 7))
    cyc_sar, cyc_esc = pair(1, 2, (0, 1), (1, 3))
    sg_sar, sg_esc = pair(2, 3, (0, 1), (1, 3))
    bip_sar, bip_esc = pair(2, 3, (0, 0), (0, 2))
    st_sar, st_esc = pair(2, 2, (0, 0), (0, 2))
    generic = bool(rng.random() < 0.5)
    ids = DEFAULT_RULES
    style = int(rng.integers(3))
    if style == 1:
        prefix = str(rng.choice(["AML", "TMS", "RULE", "R", "MON"]))
        base = int(rng.integers(1, 900))
        ids = tuple(f"{prefix}-{base + 7 * j:03d}" for j in range(len(DEFAULT_RULES)))
    elif style == 2:
        ids = ("ALERT",) * len(DEFAULT_RULES)
    return WorldParams(
        name=f"random-{seed}", threshold=thr, currency=cur,
        time_scale=float(np.round(np.exp(rng.uniform(np.log(0.25), np.log(2.0))), 3)),
        amount_scale=float(np.round(np.exp(rng.uniform(np.log(0.2), np.log(5.0))), 3)),
        struct_sar=struct_sar, struct_esc=struct_esc, passthrough_sar=pt_sar, passthrough_esc=pt_esc,
        scam_in_sar=scam_sar, scam_in_esc=scam_esc, mule_sar=mule_sar, mule_esc=mule_esc,
        fan_sar=fan_sar, fan_esc=fan_esc, cycle_sar=cyc_sar, cycle_esc=cyc_esc, sg_sar=sg_sar, sg_esc=sg_esc,
        bip_sar=bip_sar, bip_esc=bip_esc, stack_sar=st_sar, stack_esc=st_esc,
        stack_layers=int(rng.integers(2, 4)),
        lookalike_size=float(np.round(rng.uniform(0.6, 1.8), 2)),
        lookalike_amount=float(np.round(np.exp(rng.uniform(np.log(0.4), np.log(3.0))), 2)),
        lookalike_pick=str(rng.choice(LOOKALIKE_PICKS)), rule_ids=ids,
        wording="generic" if generic else "templates", vendor_share=float(np.round(rng.uniform(0.0, 0.3), 2)),
        notes="randomised world")


def resolve(name: str, seed: int) -> WorldParams:
    """A world by name, `random` (drawn from the seed), or a JSON file of WorldParams fields."""
    if name == "random":
        return random_world(seed)
    if name in NAMED:
        return NAMED[name]
    if name.endswith(".json"):
        try:
            raw = json.loads(open(name, encoding="utf-8").read())  # noqa: SIM115
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read world file {name}: {e}") from e
        known = {f.name for f in fields(WorldParams)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"world file {name}: unknown field(s) {', '.join(unknown)}")
        vals = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        wp = WorldParams(**vals)
        wp.validate()
        return wp
    raise ValueError(f"unknown world {name!r}: use one of {', '.join(NAMED)}, random, or a .json file")
