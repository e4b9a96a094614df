"""Scorers: one small module each (see base.py for the contract).

`default_scorers()` is what every run uses; `AGGREGATORS` lets a saved run log be re-aggregated
(reports, bootstrap comparisons) without building any scorer's dependencies, e.g. a judge model.
"""

from __future__ import annotations

from evals.scorers import actions, disposition, evidence, judge, narrative, trace, typology
from evals.scorers.base import AggregateFn, Scorer

AGGREGATORS: dict[str, AggregateFn] = {
    disposition.NAME: disposition.aggregate,
    typology.NAME: typology.aggregate,
    evidence.NAME: evidence.aggregate,
    narrative.NAME: narrative.aggregate,
    actions.NAME: actions.aggregate,
    trace.NAME: trace.aggregate,
    judge.NAME: judge.aggregate,
}


def default_scorers() -> list[Scorer]:
    """The deterministic scorers, in report order."""
    return [disposition.disposition_scorer(), typology.typology_scorer(), evidence.evidence_scorer(),
            narrative.narrative_scorer(), actions.actions_scorer(), trace.trace_scorer()]


def aggregate_all(records_by_scorer: dict[str, list[dict]]) -> dict[str, dict]:
    """Every scorer's metrics from its per-case records."""
    return {name: AGGREGATORS[name](recs) for name, recs in records_by_scorer.items() if name in AGGREGATORS}
