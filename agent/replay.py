"""Replay a recorded rules case: run it again without recording and list every difference."""

from __future__ import annotations

from agent.report import CaseReport
from tools.errors import InputInvalid
from tools.settings import Settings


def diff_reports(old: CaseReport, new: CaseReport) -> list[str]:
    """Human-readable differences in decision, narrative, actions and evidence."""
    diffs: list[str] = []
    for field in ("disposition", "typology", "risk_score", "flagged_txn_ids", "related_accounts"):
        a, b = getattr(old.decision, field), getattr(new.decision, field)
        if a != b:
            diffs.append(f"decision.{field}: recorded {a!r}, replay {b!r}")
    if old.narrative != new.narrative:
        diffs.append("narrative differs")
    if [(a.action, a.status) for a in old.actions] != [(a.action, a.status) for a in new.actions]:
        diffs.append(f"actions: recorded {[a.action for a in old.actions]}, replay {[a.action for a in new.actions]}")
    old_ev = {e.id: e for e in old.evidence}
    for e in new.evidence:
        o = old_ev.get(e.id)
        if o is None:
            diffs.append(f"{e.id} ({e.tool}) is new in the replay")
        elif (o.tool, o.args, o.rows, o.facts) != (e.tool, e.args, e.rows, e.facts):
            diffs.append(f"{e.id} ({e.tool}) result differs")
    for eid in old_ev.keys() - {e.id for e in new.evidence}:
        diffs.append(f"{eid} missing from the replay")
    return diffs


def replay_case(settings: Settings, case_id: str) -> list[str]:
    """Re-run a rules case from the workspace and compare with the stored report."""
    from agent.runner import Investigator
    from agent.store import CaseStore

    old = CaseStore(settings).load(case_id)
    if old.model != "rules":
        raise InputInvalid(f"case {case_id} was recorded with {old.model}; replay re-runs rules cases only")
    with Investigator(settings, "rules", record=False) as inv:
        new = inv.investigate(case_id)
    return diff_reports(old, new)
