"""The `features` evidence step: an alert's feature vector recorded as evidence, facts = features.

Playbooks name it in `evidence_steps` (tool: features) and read the feature names in their checks;
the values come from the batch statement (held rows of a prefetched batch, or the statement
filtered to the one alert: `tools.features.held`), so a playbook and the learned backend see the
same numbers. Facts are rounded to 6 decimals for the
reader; the batch build keeps full precision (the difference is below any threshold a check uses).
"""

from __future__ import annotations

import time
from typing import Any

from tools.evidence import Evidence, EvidenceLedger
from tools.features.compute import FEATURES, _query, statement
from tools.features.held import alert_features
from tools.settings import JurisdictionProfile

ROUND = 6


def _value(v: float | None) -> float | None:
    return None if v is None else round(float(v), ROUND)


def features(db: Any, ledger: EvidenceLedger, alert_id: str, profile: JurisdictionProfile | None = None,
             window_days: int | None = None) -> Evidence:
    """Every generic feature of the alert's account window (docs/features.md): amounts against the
    reporting thresholds, velocity against the account's baseline, forwarding, fan-in/out, cycles,
    exposure to labelled addresses, shared devices, access changes, P2P. Rows: the features that
    differ from their no-activity default, with group and unit; facts: every feature by name."""
    start = time.perf_counter()
    query = _query(profile, window_days, filtered=True)
    values = alert_features(db, alert_id, query.profile, query.window_days)
    facts = {name: _value(v) for name, v in values.items()}
    rows = [[f.name, f.group, facts[f.name], f.unit] for f in FEATURES if facts[f.name] != f.default]
    shown = ", ".join(f"{r[0]}={r[2]}" for r in rows[:12])
    summary = (f"{len(rows)} of {len(FEATURES)} features differ from their no-activity default"
               + (f": {shown}" + (" ..." if len(rows) > 12 else "") if rows else ""))
    return ledger.record("features", {"alert_id": alert_id, "window_days": query.window_days,
                                      "jurisdiction": query.profile.name},
                         query=statement(query), columns=["feature", "group", "value", "unit"], rows=rows,
                         facts=facts, summary=summary, elapsed_ms=(time.perf_counter() - start) * 1000)
