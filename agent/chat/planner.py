"""From a question and its slots to a plan of one to three tool calls.

`rules_plan` is deterministic: intents are recognised by their wording (many phrasings per intent,
not the eval's), each intent becomes a call on the entity it is about, and a question with an entity
but no recognisable intent gets the entity's natural look-up (an account's profile, an address's
screening, an alert's record). A question with no entity uses the conversation's subject, so
"and its counterparties?" follows the previous answer.

`model_plan` (agent.chat.model_planner) asks a small model for the same kind of plan under a JSON
schema whose targets are exactly these slots; this module also validates and repairs such plans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.chat.catalog import CATALOG, Call
from agent.chat.entities import Slots

MAX_CALLS = 3

# (tool, pattern): order matters only for ties at the same position in the question.
INTENTS: list[tuple[str, re.Pattern[str]]] = [(tool, re.compile(p, re.I)) for tool, p in [
    ("screen_counterparties", r"\bscreen\w* (?:\S+ ){0,3}(?:wallets|addresses|counterpart\w*)\b|"
                              r"\b(counterpart\w*|addresses|wallets)\b[^.?!]{0,60}\b(sanction\w*|ofac|listed|screen\w*|"
                              r"blacklist\w*|flagged|risky|bad|illicit|watch ?list)|\b(sanction\w*|screen\w*|ofac|"
                              r"blacklist\w*)\b[^.?!]{0,40}\b(counterpart\w*|every address|all (?:the |its )?addresses)"),
    ("exposure", r"\b(expos\w*|sanction\w*|ofac|mixers?|mixing|tornado|darknet|dark ?web|ransomware|scam\w*|phish\w*|"
                 r"illicit|tainted|taint|risky (?:address|wallet)\w*|high[- ]risk (?:address|wallet)\w*|"
                 r"indirect\w*|bad actors?|criminal|blacklist\w*|flagged (?:address\w*|wallets?|counterpart\w*|"
                 r"entit\w*)|(?:listed|labell?ed|bad|dirty|known) (?:address\w*|wallets?))\b"),
    ("exposure", r"\b(suspicious|red flags?|risk (?:indicators?|factors?|signals?)|any concerns?|worrying)\b"),
    ("profile", r"\b(suspicious|red flags?|risk (?:indicators?|factors?|signals?)|any concerns?|worrying)\b"),
    ("trace", r"\b(trace|tracing|follow (?:the )?(?:money|funds|flow)|hops?|paths?|layers?|layering|downstream|"
              r"upstream|chain of (?:transfers|payments)|flow of funds|fund[- ]flow|onward)\b"),
    ("clusters", r"\b(devices?|ips?|ip address\w*|logins? from|same (?:phone|machine|computer|browser)|shar\w+ "
                 r"(?:a |an |the )?(?:device|ip|login)|linked accounts?|connected accounts?|related accounts?|clusters?|"
                 r"mule\w*|multiple accounts|sock ?puppets?)\b"),
    ("cycles", r"\b(cycles?|cyclic|round[- ]?trip\w*|come back|came back|comes back|circular\w*|loops?|returned to "
               r"(?:it|the account))\b"),
    ("p2p_orders", r"\b(p2p|peer[- ]to[- ]peer|charge[- ]?backs?|disputes?|disputed|third[- ]party pay\w*|"
                   r"paid by (?:a )?third part\w*|p2p orders?)\b"),
    ("alerts", r"\b(alerts?|alerted|flagged before|been flagged|flags? on|prior cases|previous cases|rules? "
               r"(?:fired|hit|hits|triggered)|monitoring hits?|case history|tripped|open cases?|any cases?|cases? (?:on|for|"
               r"against)|(?:what|which) rules?|rules? (?:that )?flagged|flagged (?:it|by))\b"),
    ("payments", r"\b(largest|biggest|highest|top|smallest|maximum|max|how much|how many|totals?|total(?:led|ling)?|"
                 r"sum|volume|turnover|amount of money|in total|overall|count of|number of (?:payments|transactions|"
                 r"deposits|withdrawals))\b"),
    ("counterparties", r"\b(counterpart\w*|transact\w* with|deal\w* with|trading partners?|business partners?|"
                       r"(?:do|does|did|doing) business with|who (?:deposited|wired|transferred|paid|sent|moved)|"
                       r"which (?:accounts?|customers?|wallets?|addresses|users?) (?:paid|sent|funded|received|got)|"
                       r"(?:send|sent|pay|paid|transfer\w*|wire\w*) (?:any )?(?:money|funds|crypto|coins|anything) to|"
                       r"who (?:did|does|has)? ?\w* ?(?:send|sent|pay|paid|transfer\w*|receive\w*)|who (?:funded|funds)|"
                       r"funded|funding|source of (?:the )?(?:funds|money|wealth)|sources of|where (?:did|does|do|has|"
                       r"have) (?:the )?(?:money|funds|it|its money|their money|the cash)\b[^.?!]{0,20}\b(?:go|went|"
                       r"gone|come from|came from|end up)|senders?|payers?|recipients?|receivers?|beneficiar\w*|"
                       r"who (?:gets|got) (?:the )?(?:money|funds)|sent (?:money|funds) to|money to whom|whom)\b"),
    ("profile", r"\b(profile|kyc|who (?:is|'s)(?! (?:send|sending|paying|paid|receiving|funding|the (?:top|main|biggest)))|"
                r"tell me about|open(?:ed)? (?:its|the|their|an|his|her) account|onboard\w*|joined|sign(?:ed)? up|overview|summar\w*|background|customer|"
                r"risk rating|occupation|income|registered|registration|nationality|country|business account|"
                r"individual|baseline|what do (?:we|you) know|look ?up|details|account age|how old|"
                r"(?:kind|type|sort) of (?:account|customer|business)|who owns|owner|"
                r"velocity|in/out ratio)\b"),
    ("profile", r"\b(structur\w*|smurf\w*|just (?:under|below)|reporting threshold|account takeover|ato|"
                r"taken over|hacked|compromised|new devices?|2fa|password change|pass[- ]through|rapid movement|"
                r"in and straight out|velocity|baseline|unusual activity)\b"),
    ("counterparties", r"\b(which (?:addresses|wallets|accounts)|withdr\w* (?:to|into)|cash(?:ed)? out to)\b"),
    ("payments", r"\b(recent|latest|newest|most recent|lately|payments?|transactions?|deposits?|withdrawals?|"
                 r"transfers?|inflows?|outflows?)\b"),
]]

DEFAULT_FOR_KIND = {"account": "profile", "address": "screen", "alert": "alert", "txn": "transaction"}
PRONOUN_RE = re.compile(r"\b(it|its|it's|they|them|their|this account|that account|the account|this address|"
                        r"that address|the address|same account|he|she|his|her)\b", re.I)


@dataclass
class Plan:
    """Calls to run, and where they came from (for the trace)."""

    calls: list[Call]
    source: str  # rules, model, model+rules, rules (model plan invalid), ...
    notes: list[str] = field(default_factory=list)


def intents(question: str) -> list[str]:
    """Tools the wording asks for, in the order the question asks (first match position)."""
    found: dict[str, int] = {}
    for tool, pattern in INTENTS:
        m = pattern.search(question)
        if m and tool not in found:
            found[tool] = m.start()
    # exposure words inside a counterparty-screening request are that request, not a second one
    if "screen_counterparties" in found and "exposure" in found and not re.search(
            r"\b(expos\w*|mixer|tornado|darknet|indirect\w*|hops?)\b", question, re.I):
        del found["exposure"]
    if "trace" in found and "counterparties" in found and not re.search(r"\bcounterpart", question, re.I):
        del found["counterparties"]  # "where did the money go, 3 hops": one trace answers it
    if "payments" in found and "counterparties" in found and re.search(
            r"\b(largest|biggest|highest|top|smallest|how much|total\w*|sum|volume)\b", question, re.I) and not \
            re.search(r"\b(counterpart\w*|who)\b", question, re.I):
        del found["counterparties"]
    if "payments" in found and "counterparties" in found and not re.search(
            r"\b(payments?|deposits?|withdrawals?|withdr\w+|transactions?|transfers?|how much|total\w*)\b", question, re.I):
        del found["payments"]  # "top counterparties": a ranking of counterparties, not of payments
    return sorted(found, key=lambda t: found[t])


def subject_targets(slots: Slots, subject: dict[str, str]) -> list[tuple[str, str]]:
    """The entities a question is about: its own, else the conversation's subject."""
    targets = slots.targets()
    if targets or slots.unknown_ids:  # an id that is not in the workspace is reported, not swapped for the subject
        return targets
    return [(v, k) for k, v in subject.items() if v and k in DEFAULT_FOR_KIND][:1]


def _target_for(tool: str, targets: list[tuple[str, str]], focus_account: str | None) -> str | None:
    kinds = CATALOG[tool].targets
    for value, kind in targets:
        if kind in kinds:
            return value
    if "account" in kinds and focus_account and any(k == "alert" for _, k in targets):
        return focus_account
    return None


def _options(tool: str, slots: Slots) -> tuple[str | None, int | None]:
    if tool == "trace":
        direction = slots.direction if slots.direction in ("in", "out", "both") else "out"
        return direction, slots.hops or 2
    if tool in ("counterparties", "payments"):
        return slots.direction or "both", None
    return None, None


RECENT_RE = re.compile(r"\b(recent|latest|newest|last (?:\d+|few|ten|five|three) (?:transactions|payments|transfers|"
                       r"deposits|withdrawals|movements)|most recent|lately)\b", re.I)


def rules_plan(question: str, slots: Slots, subject: dict[str, str], alert_account: str | None = None) -> Plan:
    """The deterministic plan (the `rules` backend, and the floor under a model's plan)."""
    targets = subject_targets(slots, subject)
    calls: list[Call] = []
    notes = []
    asked = intents(question)
    if slots.alerts and not slots.accounts and "alerts" in asked:
        asked.remove("alerts")  # "alert ALT-1": the word names the alert, it does not ask for the account's alerts
    for tool in asked:
        if tool in ("counterparties", "payments") and not any(k == "account" for _, k in targets) and slots.addresses:
            # who paid an address, where its funds went: the address's own flows, one hop
            calls.append(Call("trace", slots.addresses[0], slots.direction or "both", slots.hops or 1))
            continue
        target = _target_for(tool, targets, alert_account)
        if target is None and tool == "screen" and slots.addresses:
            target = slots.addresses[0]
        if target is None:
            continue
        direction, hops = _options(tool, slots)
        order = "recent" if tool == "payments" and RECENT_RE.search(question) else None
        calls.append(Call(tool, target, direction, hops, order))
    if slots.addresses and not any(c.tool in ("screen", "trace") for c in calls):
        calls.insert(0, Call("screen", slots.addresses[0]))  # an address asked about is screened first
    if not calls and targets:
        value, kind = targets[0]
        calls.append(Call(DEFAULT_FOR_KIND[kind], value))
        notes.append(f"no intent recognised: default look-up of the {kind}")
    # every further entity named gets the same first intent (e.g. "compare ACC-1 and ACC-2")
    if calls and len(slots.targets()) > 1:
        first = calls[0]
        for value, kind in slots.targets()[1:]:
            if kind in CATALOG[first.tool].targets and value != first.target:
                calls.append(Call(first.tool, value, first.direction, first.hops))
    return Plan(dedupe(calls)[:MAX_CALLS], "rules", notes)


def dedupe(calls: list[Call]) -> list[Call]:
    """Calls in order without repeats (the same tool, target and options)."""
    seen: set[tuple] = set()
    out = []
    for c in calls:
        if c.key() not in seen:
            seen.add(c.key())
            out.append(c)
    return out


def validate_call(raw: dict, slots: Slots, subject: dict[str, str]) -> tuple[Call | None, str]:
    """A model's call checked against the catalog and the slots: the target must be offered and of a kind
    the tool takes; options are clamped to what the tool accepts."""
    tool = str(raw.get("tool", ""))
    if tool not in CATALOG:
        return None, f"unknown tool {tool!r}"
    offered = {v.lower(): (v, k) for v, k in subject_targets(slots, subject)}
    target = str(raw.get("target", ""))
    if target.lower() not in offered:
        return None, f"target {target!r} is not one of the offered entities"
    value, kind = offered[target.lower()]
    if kind not in CATALOG[tool].targets:
        return None, f"{tool} does not take a {kind}"
    direction = raw.get("direction") if raw.get("direction") in ("in", "out", "both") else None
    hops = raw.get("hops")
    hops = max(1, min(4, int(hops))) if isinstance(hops, int | float) else None
    default_dir, default_hops = _options(tool, slots)
    if tool == "trace":
        return Call(tool, value, direction or default_dir, hops or default_hops), ""
    if tool in ("counterparties", "payments"):
        return Call(tool, value, direction or default_dir), ""
    return Call(tool, value), ""


def merge(model: list[Call], floor: Plan, slots: Slots) -> tuple[list[Call], list[str]]:
    """The model's calls under the rules' floor: a tool the wording clearly asked for (an intent the rules
    recognised) is kept even when the model left it out; the rest of the room goes to the model's picks.
    Returns the calls and what the floor changed (for the trace)."""
    changes = []
    asked = [c for c in floor.calls if not floor.notes]  # a default look-up is not a recognised intent
    chosen = list(asked)
    for c in model:
        if len(chosen) >= MAX_CALLS:
            changes.append(f"dropped model call {c.as_dict()} (three calls at most)")
            break
        if all(c.key() != k.key() for k in chosen) and not any(
                c.tool == k.tool and c.target == k.target for k in chosen):
            chosen.append(c)
    for c in asked:
        if all(c.tool != m.tool or c.target != m.target for m in model):
            changes.append(f"added {c.as_dict()}: the question asks for it and the model left it out")
    if not chosen:
        chosen = list(floor.calls)
    return dedupe(chosen)[:MAX_CALLS], changes
