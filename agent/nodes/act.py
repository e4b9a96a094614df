"""recommend and record: actions from policy (never from text), then the case store and audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import ledger_map, timed
from agent.report import Action, CaseDecision, CaseReport, Verification
from agent.state import CaseState
from tools.playbooks.load import PlaybookSet
from tools.schema import ACCOUNT_AFFECTING_ACTIONS

DEFAULT_ACTIONS = {"close": ["close"], "escalate": ["escalate_l2", "request_information"],
                   "sar": ["file_sar", "escalate_l2"]}


def policy_actions(typology: str, disposition: str, playbooks: PlaybookSet | None = None) -> list[str]:
    """The actions the playbook's policy lists for this decision (defaults when it has none)."""
    from tools.playbooks.load import load_playbooks

    pb = (playbooks or load_playbooks()).by_typology.get(typology)
    listed = list(getattr(pb.actions, disposition, []) or []) if pb is not None else []
    return listed or DEFAULT_ACTIONS[disposition]


def recommend(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Recommend the policy's actions; account-affecting ones wait for a human's approval.

    The memo, the alert text and the model's words have no say here: only the decision's
    disposition and typology select actions, so an injected instruction cannot trigger one.
    """
    update: dict[str, Any] = {}
    with timed(update, "recommend"):
        decision = state["decision"]
        names = policy_actions(decision["typology"], decision["disposition"], runtime.context.playbooks)
        actions = [
            Action(index=i, action=name,
                   reason=f"{decision['disposition']} policy of the {decision['typology']} playbook",
                   status="pending_approval" if name in ACCOUNT_AFFECTING_ACTIONS else "recommended").model_dump()
            for i, name in enumerate(names, start=1)
        ]
        update["actions"] = actions
    return update


def build_report(state: CaseState, ctx: InvestigationContext) -> CaseReport:
    """Assemble the CaseReport from the final state."""
    from agent.prompts import PROMPT_VERSION

    cited = [p.get("citation", "") for p in state.get("passages", [])]
    return CaseReport(
        case_id=state["alert_id"], alert=state["alert"], decision=CaseDecision.model_validate(state["decision"]),
        narrative=state.get("narrative", ""),
        verification=Verification.model_validate(
            {k: v for k, v in (state.get("verification") or {}).items() if k in Verification.model_fields}),
        actions=[Action.model_validate(a) for a in state.get("actions", [])],
        evidence=list(ledger_map(state).values()), playbooks_cited=[c for c in cited if c],
        scorecards=state.get("scorecards", {}), model=ctx.model_name, style=ctx.style,
        prompt_version=PROMPT_VERSION, playbook_version=ctx.playbooks.version,
        timings_ms=state.get("timings", {}), tokens={k: int(v) for k, v in (state.get("tokens") or {}).items()},
        trace=state.get("trace", []), notes=state.get("notes", []), created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def record(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Write the report to the case store and a line to the append-only audit log."""
    from agent.store import CaseStore

    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "record"):
        report = build_report(state, ctx)
        if ctx.record:
            CaseStore(ctx.settings).save(report)
        update["report"] = report.model_dump(mode="json")
    return update


def after_record(state: CaseState, runtime: Runtime[InvestigationContext]) -> Literal["await_approval", "__end__"]:
    """In chat, wait for a human on any action still pending approval; in batch, stop."""
    pending = [a for a in state.get("actions", []) if a["status"] == "pending_approval"]
    return "await_approval" if runtime.context.interactive and pending else "__end__"


def await_approval(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Pause (LangGraph interrupt) until the investigator approves or rejects a pending action.

    The resume value is {"index": N, "approve": bool, "by": name}. The decision, who and when go
    to the audit log and the stored case; nothing is executed here: Sleuth only records it.
    """
    from langgraph.types import interrupt

    from agent.store import CaseStore, audit

    ctx = runtime.context
    pending = [a for a in state.get("actions", []) if a["status"] == "pending_approval"]
    answer = interrupt({"case_id": state["alert_id"], "pending": pending})
    index, approve, by = int(answer["index"]), bool(answer["approve"]), str(answer.get("by") or ctx.settings.analyst)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    actions = []
    for a in state.get("actions", []):
        a = dict(a)
        if a["index"] == index and a["status"] == "pending_approval":
            a.update(status="approved" if approve else "rejected", decided_by=by, decided_at=now)
            audit(ctx.settings, "action_approved" if approve else "action_rejected", case_id=state["alert_id"],
                  action=a["action"], index=index, by=by)
        actions.append(a)
    store = CaseStore(ctx.settings)
    if ctx.record:
        report = store.load(state["alert_id"])
        report.actions = [Action.model_validate(a) for a in actions]
        from agent.store import atomic_write

        atomic_write(store.path(report.case_id), report.model_dump_json(indent=1))
    return {"actions": actions}
