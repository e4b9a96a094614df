"""Restriction-lift requests: queue, review with cited facts, decide four-eyes.

A business line asks to thaw an account or unbind a device or an address. `add` queues the request
(`<workspace>/requests/REQ-NNNNN.json`); `review` builds an evidence ledger: the restriction's
original case and evidence, what changed since its alert (activity, exposure, logins, KYC), the
open alerts and pending actions, and evaluates the lift playbook's `lift_conditions`
(playbooks/restriction_lift.md) over those facts to propose approve or reject, each fact cited
[E#]; `decide` records the decision by someone other than the requester whom the roles file
permits (agent.approvals.check). Everything goes to the audit log.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.errors import InputInvalid, NotFound
from tools.evidence import Evidence, EvidenceLedger
from tools.schema import RISKY_CATEGORIES
from tools.settings import Settings

Kind = Literal["thaw", "unbind"]
RESTRICTIONS = {"thaw": ("freeze_account", "restrict_p2p"), "unbind": ("block_address", "restrict_p2p")}
SECURITY_EVENTS = ("password_change", "2fa_reset", "api_key_created", "email_change")


class LiftRequest(BaseModel):
    """One request to lift a restriction, its review and its decision."""

    id: str
    account_id: str
    kind: Kind
    reason: str
    target: str = Field("", description="The device or address to unbind, when named.")
    requested_by: str
    requested_by_source: str
    requested_at: str
    status: Literal["open", "reviewed", "approved", "rejected"] = "open"
    review: dict[str, Any] = Field(default_factory=dict, description="Checklist, facts, conditions, proposal.")
    evidence: list[Evidence] = Field(default_factory=list)
    reviewed_by: str | None = None
    decided_by: str | None = None
    decided_by_source: str | None = None
    decided_at: str | None = None
    note: str = ""


def _dir(settings: Settings) -> Path:
    return settings.home / "requests"


def _path(settings: Settings, request_id: str) -> Path:
    safe = "".join(ch for ch in request_id if ch.isalnum() or ch in "-_")
    return _dir(settings) / f"{safe}.json"


def load(settings: Settings, request_id: str) -> LiftRequest:
    path = _path(settings, request_id)
    if not path.exists():
        raise NotFound(f"no lift request {request_id!r} (sleuth requests list)")
    return LiftRequest.model_validate_json(path.read_text(encoding="utf-8"))


def all_requests(settings: Settings) -> list[LiftRequest]:
    d = _dir(settings)
    return [LiftRequest.model_validate_json(p.read_text(encoding="utf-8")) for p in sorted(d.glob("REQ-*.json"))] \
        if d.exists() else []


def _save(settings: Settings, req: LiftRequest) -> None:
    from agent.store import atomic_write

    atomic_write(_path(settings, req.id), req.model_dump_json(indent=1))


def add(settings: Settings, account_id: str, kind: str, reason: str, target: str = "") -> LiftRequest:
    """Queue a request (the account must exist); the id is reserved with an exclusive create."""
    from agent.approvals import identity
    from agent.store import audit
    from tools.db import Database

    if kind not in RESTRICTIONS:
        raise InputInvalid(f"unknown kind {kind!r}: use thaw or unbind")
    if not reason.strip():
        raise InputInvalid("--reason is required: say why the business line asks")
    with Database.open(settings) as db:
        if not db.scalar("SELECT count(*) FROM accounts WHERE account_id = ?", [account_id]):
            raise NotFound(f"no account {account_id!r} in the workspace")
    d = _dir(settings)
    d.mkdir(parents=True, exist_ok=True)
    n = len(list(d.glob("REQ-*.json"))) + 1
    while True:
        request_id = f"REQ-{n:05d}"
        try:
            os.close(os.open(_path(settings, request_id), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            n += 1
    who = identity(settings)
    req = LiftRequest(id=request_id, account_id=account_id, kind=kind, reason=reason.strip(), target=target,
                      requested_by=who.name, requested_by_source=who.source,
                      requested_at=datetime.now(UTC).isoformat(timespec="seconds"))  # type: ignore[arg-type]
    _save(settings, req)
    audit(settings, "lift_requested", request_id=request_id, account_id=account_id, kind=kind, reason=req.reason,
          target=target, by=who.name, by_source=who.source)
    return req


def _restriction(settings: Settings, account_id: str, kind: str) -> tuple[Any, Any] | None:
    """(case report, approved action) of the latest approved restriction of this kind on the account."""
    from agent.store import CaseStore

    store = CaseStore(settings)
    found = []
    for case_id in store.ids():
        rep = store.load(case_id)
        if rep.alert.get("account_id") != account_id:
            continue
        for a in rep.actions:
            if a.action in RESTRICTIONS[kind] and a.status == "approved":
                found.append((a.decided_at or "", rep, a))
    if not found:
        return None
    _, rep, action = max(found, key=lambda f: (f[0], f[1].case_id))
    return rep, action


def review(settings: Settings, request_id: str) -> LiftRequest:
    """The checklist with cited facts and the proposal; stored on the request and audited."""
    from agent.approvals import identity
    from agent.store import CaseStore, audit
    from tools.db import Database
    from tools.playbooks.expr import compile_expr
    from tools.playbooks.load import load_playbooks

    req = load(settings, request_id)
    if req.status in ("approved", "rejected"):
        raise InputInvalid(f"{request_id} was already {req.status} by {req.decided_by}")
    ledger = EvidenceLedger(settings.evidence_row_cap)
    facts: dict[str, Any] = {}
    cite: dict[str, str] = {}
    acct = req.account_id
    found = _restriction(settings, acct, req.kind)
    with Database.open(settings) as db:
        latest = db.scalar("SELECT max(ts) FROM transactions")
        if found is None:
            ev = ledger.record("restriction", {"account_id": acct, "kind": req.kind}, columns=["case_id"], rows=[],
                               facts={"restriction_found": 0, "restriction_is_sanctions": 0},
                               summary=f"no approved {' or '.join(RESTRICTIONS[req.kind])} of {acct} in the case store")
            since = None
        else:
            rep, action = found
            key = [e for e in rep.evidence if e.id in rep.decision.key_evidence_ids][:5]
            ev = ledger.record(
                "restriction", {"account_id": acct, "kind": req.kind},
                columns=["case_id", "alert_created_at", "typology", "disposition", "action", "approved_by",
                         "approved_at", "key_evidence"],
                rows=[[rep.case_id, rep.alert.get("created_at"), rep.decision.typology, rep.decision.disposition,
                       action.action, action.decided_by, action.decided_at,
                       "; ".join(f"{e.id} {e.tool}: {e.summary}"[:200] for e in key)]],
                facts={"restriction_found": 1,
                       "restriction_is_sanctions": int(rep.decision.typology == "sanctions_exposure")},
                summary=f"{action.action} of {acct} approved by {action.decided_by} on case {rep.case_id} "
                        f"({rep.decision.disposition}, {rep.decision.typology})")
            since = rep.alert.get("created_at")
        facts.update(ev.facts)
        cite.update({k: ev.id for k in ev.facts})
        since = since or "1970-01-01 00:00:00"

        n, inflow, outflow = db.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN dst = ? THEN amount_usd END), 0), "
            "coalesce(sum(CASE WHEN src = ? THEN amount_usd END), 0) FROM transactions "
            "WHERE (src = ? OR dst = ?) AND ts > CAST(? AS TIMESTAMP)", [acct, acct, acct, acct, since]).rows[0]
        days = db.scalar("SELECT date_diff('day', CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP))", [since, latest]) \
            if found else 0
        ev = ledger.record("activity_since", {"account_id": acct, "since": since},
                           columns=["transactions", "in_usd", "out_usd", "days_since", "workspace_latest"],
                           rows=[[n, round(inflow, 2), round(outflow, 2), days, latest]],
                           facts={"new_txn_count": n, "new_inflow_usd": round(inflow, 2),
                                  "new_outflow_usd": round(outflow, 2), "days_since_restriction": days or 0},
                           summary=f"{n} transactions since {since[:10]}: {inflow:,.2f} USD in, {outflow:,.2f} USD out")
        facts.update(ev.facts)
        cite.update({k: ev.id for k in ev.facts})

        risky = db.execute(
            "SELECT t.txn_id, t.ts, CASE WHEN t.src = ? THEN t.dst ELSE t.src END AS counterparty, a.category, "
            "t.amount_usd FROM transactions t JOIN addresses a ON lower(a.address) = lower(CASE WHEN t.src = ? "
            "THEN t.dst ELSE t.src END) WHERE (t.src = ? OR t.dst = ?) AND t.ts > CAST(? AS TIMESTAMP) "
            "AND a.category IN (SELECT unnest(?::VARCHAR[])) ORDER BY t.ts",
            [acct, acct, acct, acct, since, list(RISKY_CATEGORIES)])
        risky_usd = round(sum(r[4] for r in risky.rows), 2)
        ev = ledger.record("exposure_since", {"account_id": acct, "since": since}, columns=risky.columns,
                           rows=risky.rows, facts={"new_risky_exposure_usd": risky_usd},
                           summary=f"{len(risky.rows)} transactions with risky addresses since {since[:10]}"
                                   f" ({risky_usd:,.2f} USD)")
        facts.update(ev.facts)
        cite.update({k: ev.id for k in ev.facts})

        devices, countries, security = db.execute(
            "WITH before AS (SELECT * FROM logins WHERE account_id = ? AND ts <= CAST(? AS TIMESTAMP)), "
            "after AS (SELECT * FROM logins WHERE account_id = ? AND ts > CAST(? AS TIMESTAMP)) SELECT "
            "(SELECT count(DISTINCT device_id) FROM after WHERE device_id NOT IN (SELECT device_id FROM before)), "
            "(SELECT count(DISTINCT country) FROM after WHERE country NOT IN (SELECT country FROM before)), "
            "(SELECT count(*) FROM after WHERE event IN (SELECT unnest(?::VARCHAR[])))",
            [acct, since, acct, since, list(SECURITY_EVENTS)]).rows[0]
        ev = ledger.record("logins_since", {"account_id": acct, "since": since},
                           columns=["new_devices", "new_countries", "security_events"],
                           rows=[[devices, countries, security]],
                           facts={"new_devices": devices, "new_countries": countries, "security_events": security},
                           summary=f"since {since[:10]}: {devices} new devices, {countries} new login countries, "
                                   f"{security} security events")
        facts.update(ev.facts)
        cite.update({k: ev.id for k in ev.facts})

        kyc_now = db.scalar("SELECT kyc_level FROM accounts WHERE account_id = ?", [acct])
        kyc_then = next((e.facts["kyc_level"] for e in (found[0].evidence if found else [])
                         if "kyc_level" in e.facts), kyc_now)
        ev = ledger.record("kyc", {"account_id": acct}, columns=["kyc_level_now", "kyc_level_at_case"],
                           rows=[[kyc_now, kyc_then]], facts={"kyc_level": kyc_now, "kyc_level_at_case": kyc_then},
                           summary=f"KYC level {kyc_now} now, {kyc_then} when restricted")
        facts.update(ev.facts)
        cite.update({k: ev.id for k in ev.facts})

        alerts = db.execute("SELECT alert_id, created_at, rule_id, coalesce(status, 'open') FROM alerts "
                            "WHERE account_id = ? AND created_at > CAST(? AS TIMESTAMP) "
                            "AND coalesce(status, 'open') = 'open' ORDER BY created_at", [acct, since])
    store = CaseStore(settings)
    pending = [(cid, a.action) for cid in store.ids() for rep2 in [store.load(cid)]
               if rep2.alert.get("account_id") == acct for a in rep2.actions if a.status == "pending_approval"]
    ev = ledger.record("open_items", {"account_id": acct, "since": since},
                       columns=["kind", "id", "detail"],
                       rows=[["alert", r[0], f"{r[2]} raised {r[1]}"] for r in alerts.rows]
                       + [["pending_action", c, a] for c, a in pending],
                       facts={"open_alerts": len(alerts.rows), "pending_actions": len(pending)},
                       summary=f"{len(alerts.rows)} open alerts raised since {since[:10]}, "
                               f"{len(pending)} actions pending approval")
    facts.update(ev.facts)
    cite.update({k: ev.id for k in ev.facts})

    playbook = next(pb for pb in load_playbooks().playbooks if pb.front.purpose == "lift_review")
    conditions = []
    for cond in playbook.front.lift_conditions:
        expr = compile_expr(cond.check)
        holds = bool(expr.evaluate(facts).value)
        used = sorted(expr.names)
        conditions.append({"id": cond.id, "description": cond.description, "check": cond.check, "holds": holds,
                           "facts": {k: facts.get(k) for k in used},
                           "cites": sorted({cite[k] for k in used if k in cite}, key=lambda e: int(e[1:]))})
    failing = [c for c in conditions if not c["holds"]]
    proposal = "reject" if failing else "approve"
    lines = [f"{'holds' if c['holds'] else 'FAILS'}: {c['description']} ("
             + ", ".join(f"{k}={v}" for k, v in c["facts"].items()) + f") [{', '.join(c['cites'])}]"
             for c in conditions]
    why = ("every lift condition holds" if not failing else
           "failing: " + "; ".join(f"{c['id']} [{', '.join(c['cites'])}]" for c in failing))
    req.evidence = ledger.all()
    req.review = {"facts": facts, "conditions": conditions, "proposal": proposal, "summary": why,
                  "checklist": lines, "playbook": f"PB:{playbook.name}", "since": since,
                  "reviewed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    req.status = "reviewed"
    req.reviewed_by = identity(settings).name
    _save(settings, req)
    audit(settings, "lift_reviewed", request_id=req.id, account_id=acct, proposal=proposal, summary=why,
          by=req.reviewed_by)
    return req


def decide(settings: Settings, request_id: str, approve: bool, note: str = "") -> LiftRequest:
    """Approve or reject a reviewed request: not by its requester, and only with a permitting role."""
    from agent.approvals import check, identity
    from agent.store import audit

    req = load(settings, request_id)
    if req.status in ("approved", "rejected"):
        raise InputInvalid(f"{request_id} was already {req.status} by {req.decided_by}")
    if req.status != "reviewed":
        raise InputInvalid(f"{request_id} has not been reviewed: run sleuth requests review {request_id} first")
    who = identity(settings)
    check(settings, req.kind, who.name, opened_by=req.requested_by, what="request")
    req.status = "approved" if approve else "rejected"
    req.decided_by, req.decided_by_source = who.name, who.source
    req.decided_at = datetime.now(UTC).isoformat(timespec="seconds")
    req.note = note
    _save(settings, req)
    audit(settings, f"lift_{req.status}", request_id=req.id, account_id=req.account_id, kind=req.kind,
          proposal=req.review.get("proposal"), against_proposal=(req.review.get("proposal") != ("approve" if approve
                                                                                                  else "reject")),
          by=who.name, by_source=who.source, requested_by=req.requested_by, note=note)
    return req


def as_json(req: LiftRequest) -> str:
    return json.dumps(req.model_dump(mode="json"), indent=2, default=str)
