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
    from agent.approvals import identity
    from agent.prompts import PROMPT_VERSION

    who = identity(ctx.settings)
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
        opened_by=who.name, opened_by_source=who.source,
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

    The resume value is {"index": N, "approve": bool, "by": name, "by_source": how}. Four-eyes is
    checked and the decision recorded by `agent.approvals.decide_action` (the same path as the
    CLI's); nothing is executed here: Sleuth only records it.
    """
    from langgraph.types import interrupt

    from agent.approvals import Identity, decide_action

    ctx = runtime.context
    pending = [a for a in state.get("actions", []) if a["status"] == "pending_approval"]
    answer = interrupt({"case_id": state["alert_id"], "pending": pending})
    who = Identity(str(answer.get("by") or ctx.settings.analyst), str(answer.get("by_source") or "os-user"))
    report = state.get("report") or {}
    actions = decide_action(ctx.settings, state["alert_id"], int(answer["index"]), bool(answer["approve"]), who,
                            actions=state.get("actions", []), opened_by=report.get("opened_by"), persist=ctx.record)
    return {"actions": actions}
