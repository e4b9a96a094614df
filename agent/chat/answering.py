"""The planned answer of a free question (rules and router styles): plan -> run -> compose.

plan:    extract the slots, then the rules plan, or the model's constrained plan under the rules floor.
run:     run each call once (a call already made this turn is not repeated), streaming its start and its
         end with the evidence id.
compose: the answer from the evidence (agent.chat.compose), checked (agent.chat.check), streamed.

Progress and tokens go through LangGraph's custom stream, so the REPL shows them as they happen; the
trace of every turn (slots, plan, model call, floor changes, removed sentences) is kept in the
thread's state.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.chat.catalog import Call, RunEnv, run_call
from agent.chat.check import check_answer
from agent.chat.compose import compose
from agent.chat.entities import Period, Slots, extract
from agent.chat.planner import Plan, merge, rules_plan
from tools.evidence import Evidence

MODEL_PAUSE_S = 300  # after a timed-out plan call, how long the model is not asked again


def _question(state: dict[str, Any]) -> str:
    return next((str(m.content) for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), "")


def _span(db: Any) -> tuple[dt.datetime, dt.datetime]:
    from tools.introspect import data_span

    start, end = data_span(db)
    now = dt.datetime(2000, 1, 1)
    return (start or now), (end or now)


def _period_from(d: dict[str, Any] | None) -> Period | None:
    if not d:
        return None
    return Period(d["kind"], d["label"], d.get("days", 0),
                  dt.datetime.fromisoformat(d["start"]) if d.get("start") else None,
                  dt.datetime.fromisoformat(d["end"]) if d.get("end") else None)


def _period_dict(p: Period | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"kind": p.kind, "label": p.label, "days": p.days, "start": p.start.isoformat() if p.start else None,
            "end": p.end.isoformat() if p.end else None}


def _alert_account(db: Any, slots: Slots) -> str | None:
    if not slots.alerts:
        return None
    return db.scalar("SELECT account_id FROM alerts WHERE alert_id = $a", {"a": slots.alerts[0]})


def _open_choice(floor: Plan) -> bool:
    """A default look-up the model may improve on: an account (many tools apply). A bare transaction, alert or
    address has one natural look-up, so the model is not asked."""
    return any(c.tool == "profile" for c in floor.calls)


def plan_node(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
    """Slots and plan for the last question."""
    ctx = runtime.context.inv
    write = get_stream_writer()
    question = _question(state)
    _, end = _span(ctx.db)
    slots = extract(ctx.db, question, end)
    subject = dict(state.get("subject") or {})
    focus = state.get("focus") or {}
    if not subject and focus.get("account_id"):
        subject = {"account": focus["account_id"]}
    alert_account = _alert_account(ctx.db, slots)
    floor = rules_plan(question, slots, subject, alert_account)
    if slots.alerts and alert_account and not any(c.tool == "alert" for c in floor.calls):
        floor.calls = [Call("alert", slots.alerts[0]), *floor.calls][:3]
    record: dict[str, Any] = {"turn": "chat_plan", "question": question, "slots": slots.describe(),
                              "rules_plan": [c.as_dict() for c in floor.calls], "rules_notes": floor.notes}
    plan = floor
    mode = ctx.settings.chat_model_plan
    pause: dict[str, Any] = {}
    wants_model = ctx.model is not None and ctx.style == "router" and bool(slots.targets() or subject) and (
        mode == "always" or not floor.calls or bool(floor.notes) and _open_choice(floor))
    paused_until = state.get("model_paused_until")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if wants_model and paused_until and now < dt.datetime.fromisoformat(paused_until):
        # A local server that timed out is still working on the abandoned request (llama.cpp serves one at a
        # time): asking again now would only wait out another time limit.
        wants_model = False
        record |= {"floor_changes": [f"model not asked: its last plan call timed out; the rules plan answers "
                                     f"until {paused_until[:19]} UTC"]}
    if wants_model:
        from agent.chat.model_planner import model_plan
        from agent.llm.call import ModelCallFailed
        from agent.prompts import PROMPT_VERSION

        write({"event": "status", "text": "planning with the model ..."})
        record |= {"model_call": "chat_plan", "prompt_version": PROMPT_VERSION}
        try:
            mp = model_plan(ctx.model, question, slots, subject, ctx.settings.chat_plan_timeout_s)
        except ModelCallFailed as e:
            record |= {"errors": [str(e)], "floor_changes": ["model call failed: the rules plan answers"]}
            if "Timeout" in str(e):
                pause = {"model_paused_until": (now + dt.timedelta(seconds=MODEL_PAUSE_S)).isoformat()}
        else:
            calls, changes = merge(mp.calls, floor, slots) if mp.calls else (floor.calls, [])
            source = "model" if mp.calls and not changes else "model+rules floor" if mp.calls else \
                "rules (model plan invalid)"
            plan = Plan(calls, source)
            record |= {"raw": mp.raw, "parsed": mp.parsed, "model_calls": [c.as_dict() for c in mp.calls],
                       "errors": mp.errors, "tokens_in": mp.tokens_in, "tokens_out": mp.tokens_out,
                       "seconds": mp.seconds, "floor_changes": changes}
    record |= {"plan": [c.as_dict() for c in plan.calls], "plan_source": plan.source}
    new_subject = dict(subject)
    for value, kind in slots.targets():
        new_subject = {kind: value} | ({"account": alert_account} if alert_account else {})
        break
    if slots.accounts:
        new_subject["account"] = slots.accounts[0]
    return {"plan": {"calls": [c.as_dict() for c in plan.calls], "period": _period_dict(slots.period),
                     "unknown_ids": slots.unknown_ids},
            "subject": new_subject, "trace": [record], **pause}


def run_node(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
    """Run the plan's calls once each, streaming their start and end."""
    ctx = runtime.context.inv
    write = get_stream_writer()
    data_start, data_end = _span(ctx.db)
    env = RunEnv(ctx.db, ctx.ledger, data_start, data_end, ctx.settings.window_days, state.get("focus") or {})
    period = _period_from(state["plan"].get("period"))
    done: dict[tuple, str] = {}
    results, events = [], []
    before = len(ctx.ledger)
    for raw in state["plan"]["calls"]:
        call = Call(**raw)
        if call.key() in done:
            continue  # never the same call twice
        shown = {k: v for k, v in call.as_dict().items() if k != "tool"} | (
            {"period": period.label} if period else {})
        write({"event": "tool_start", "tool": call.tool, "args": shown})
        ev = run_call(env, call, period)
        done[call.key()] = ev.id
        write({"event": "tool_end", "tool": call.tool, "args": shown, "evidence": ev})
        results.append({"call": call.as_dict(), "evidence_id": ev.id})
        events.append({"tool": call.tool, "target": call.target, "evidence_id": ev.id, "error": ev.error,
                       "rows": ev.row_count, "elapsed_ms": ev.elapsed_ms})
    return {"results": results, "evidence": [e.model_dump() for e in ctx.ledger.all()[before:]],
            "trace": [{"turn": "chat_tools", "calls": events}]}


def compose_node(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
    """Write, check and stream the answer."""
    ctx = runtime.context.inv
    write = get_stream_writer()
    pairs: list[tuple[Call, Evidence]] = []
    for r in state.get("results") or []:
        ev = ctx.ledger.get(r["evidence_id"])
        if ev is not None:
            pairs.append((Call(**r["call"]), ev))
    unknown = (state.get("plan") or {}).get("unknown_ids") or []
    if pairs:
        draft = compose(pairs)
    elif unknown:
        draft = (f"{', '.join(unknown)} is not an account, alert or transaction id in this workspace, so no tool "
                 "was run. Check the spelling, or ask about an account id like ACC-000123.")
    else:
        draft = ("Name an account, address, alert or transaction (for example ACC-000123), or open an alert with "
                 "/case ALERT, and I will look it up. No tool was run for this question.")
    evidence = [ev for _, ev in pairs]
    checked = check_answer(draft, evidence, {ev.id: call.tool for call, ev in pairs})
    if not pairs:  # no tool ran: a fixed reply that only echoes the ids the investigator typed
        checked.text, checked.removed = draft, []
    text = checked.text or "The evidence did not support an answer I could verify; see the tool results above."
    for piece in re.findall(r"\S+\s*", text):
        write({"event": "token", "text": piece})
    return {"messages": [AIMessage(content=text)], "results": None,
            "trace": [{"turn": "chat_answer", "sentences": checked.kept, "removed": checked.removed,
                       "negative_claims": checked.negative_claims}]}


def check_native_node(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
    """Native style: the model's own answer, checked against this turn's evidence before it is shown."""
    ctx = runtime.context.inv
    write = get_stream_writer()
    last = state["messages"][-1]
    ids = _turn_evidence_ids(state)
    evidence = [e for e in (ctx.ledger.get(i) for i in ids) if e is not None]
    checked = check_answer(str(last.content or ""), evidence, earlier=ctx.ledger.all())
    text = checked.text  # what was streamed was checked clause by clause (ChatSession._stream)
    if not text:
        text = "The answer could not be verified against the evidence, so it is not shown; see the tool results above."
        write({"event": "token", "text": text})
    return {"messages": [AIMessage(content=text, id=last.id)],
            "trace": [{"turn": "chat_answer", "sentences": checked.kept, "removed": checked.removed,
                       "negative_claims": checked.negative_claims}]}


def _turn_evidence_ids(state: dict[str, Any]) -> list[str]:
    """Evidence ids cited by this turn's tool results (from the last question on)."""
    from langchain_core.messages import ToolMessage

    ids: list[str] = []
    for m in reversed(state["messages"]):
        if isinstance(m, HumanMessage):
            break
        if isinstance(m, ToolMessage):
            ids += re.findall(r"^\[(E\d+)\]", str(m.content))
    return ids
