"""The `rules` backend's judgement: run each candidate playbook's scorecard over the case facts.

A playbook scores the evidence: red flags add their weight, mitigating factors subtract theirs.
Its `typology_signal` says how well the evidence matches that typology; the typology chosen is the
candidate with the strongest signal (ties: higher score). The chosen playbook's policy turns the
score into a disposition, and its hard rules can only raise it. A closed case has typology 'none'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DISPOSITION_ORDER = {"close": 0, "escalate": 1, "sar": 2}


@dataclass
class CheckResult:
    """One red flag or mitigating factor evaluated."""

    id: str
    description: str
    weight: float
    fired: bool
    evidence_ids: list[str]
    missing: list[str] = field(default_factory=list)


@dataclass
class Scorecard:
    """A playbook's verdict on the case."""

    typology: str
    playbook: str
    score: float
    signal: float
    disposition: str
    red_flags: list[CheckResult]
    mitigating: list[CheckResult]
    hard_rules: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for the case report."""
        return {
            "typology": self.typology, "playbook": self.playbook, "score": round(self.score, 2),
            "signal": round(self.signal, 3), "disposition": self.disposition, "hard_rules": self.hard_rules,
            "red_flags": [c.__dict__ for c in self.red_flags if c.fired],
            "mitigating": [c.__dict__ for c in self.mitigating if c.fired],
            "missing_facts": sorted({m for c in self.red_flags + self.mitigating for m in c.missing}),
        }


def _names(expr: str) -> set[str]:
    from tools.playbooks.expr import names_in

    return set(names_in(expr))


def _check(expr: str, facts: dict[str, tuple[Any, str]]) -> tuple[bool, list[str], list[str]]:
    """Evaluate a boolean check; a missing fact makes it False (and is reported)."""
    from tools.playbooks.expr import evaluate

    needed = _names(expr)
    missing = sorted(n for n in needed if n not in facts or facts[n][0] is None)
    if missing:
        return False, [], missing
    values = {n: facts[n][0] for n in needed}
    return bool(evaluate(expr, values)), sorted({facts[n][1] for n in needed}), []


def _value(expr: str, facts: dict[str, tuple[Any, str]]) -> float:
    from tools.playbooks.expr import evaluate

    needed = _names(expr)
    if any(n not in facts or facts[n][0] is None for n in needed):
        return 0.0
    result = evaluate(expr, {n: facts[n][0] for n in needed})
    return float(result)


def score_playbook(pb: Any, facts: dict[str, tuple[Any, str]]) -> Scorecard:
    """Score one playbook over the facts (name -> (value, evidence id))."""
    flags = [CheckResult(f.id, f.description, f.weight, *_check(f.check, facts)) for f in pb.red_flags]
    mitig = [CheckResult(m.id, m.description, m.weight, *_check(m.check, facts)) for m in pb.mitigating_factors]
    score = sum(f.weight for f in flags if f.fired) - sum(m.weight for m in mitig if m.fired)
    score = max(0.0, min(100.0, score))
    signal = sum(s.weight * (1.0 if _check(s.when, facts)[0] else 0.0) for s in pb.typology_signal)
    policy = pb.disposition_policy
    disposition = "sar" if score >= policy.sar_at else "escalate" if score >= policy.escalate_at else "close"
    fired_rules: list[str] = []
    for rule in policy.hard_rules:
        ok, _, _ = _check(rule.when, facts)
        if ok:
            fired_rules.append(rule.why or rule.when)
            if DISPOSITION_ORDER[rule.at_least] > DISPOSITION_ORDER[disposition]:
                disposition = rule.at_least
    return Scorecard(pb.typology, pb.path_name, score, signal, disposition, flags, mitig, fired_rules)


def choose(cards: list[Scorecard]) -> Scorecard | None:
    """The best-matching typology: strongest signal, then highest score, then most severe."""
    if not cards:
        return None
    return max(cards, key=lambda c: (c.signal, DISPOSITION_ORDER[c.disposition], c.score))
