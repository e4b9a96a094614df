"""investigate: the model follows leads with the tools, within a budget of steps and tokens.

Two styles behind one node: `router` (a small local model picks one narrow, parameterised step at
a time; the tool runs in code and its result is fed back as text) and `native` (a capable endpoint
calls the tools itself). The rules backend skips this node's loop: its evidence comes from the
playbooks' steps alone.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.nodes.common import new_evidence, timed, tool_event
from agent.prompts import PROMPT_VERSION, ROUTER_SYSTEM, fence
from agent.state import CaseState
from tools.registry import call_key, run_tool

# The narrow tools a small model chooses from in an investigation (no free SQL: the 1.5B model invented
# tables and columns, and every step costs it seconds); names, arguments and descriptions: tools.registry.
ROUTER_TOOLS = ("profile", "counterparties", "exposure", "trace", "clusters", "cycles", "screen")


def router_options(with_sql: bool = False) -> list[Any]:
    """The router's options, built from the tool registry; `with_sql` adds free SQL for chat, where an
    investigator asks open questions."""
    from agent.llm.router import StepOption
    from tools.registry import tool

    names = (*ROUTER_TOOLS, "sql") if with_sql else ROUTER_TOOLS
    return [StepOption(t.name, t.description, t.args) for t in map(tool, names)]


def brief(state: CaseState, evidence_texts: list[str]) -> str:
    """The context the model sees: the alert (fenced) and the evidence so far."""
    alert = state["alert"]
    head = (f"Alert {alert['alert_id']} on account {alert['account_id']}, rule {alert['rule_id']}, "
            f"raised {alert['created_at'][:19]}. Description:\n{fence(alert['description'])}\n"
            f"Candidate typologies from the playbooks: {', '.join(state.get('candidates', []))}.")
    return head + "\n\nEvidence so far:\n" + "\n\n".join(evidence_texts)


def _router_loop(state: CaseState, ctx: InvestigationContext, update: dict[str, Any]) -> None:
    from agent.llm.call import ModelCallFailed
    from agent.llm.router import choose_next
    from tools.evidence import Evidence

    # A 1.5B model on 2 cores reads about 150 prompt tokens/s: it gets one line per evidence item,
    # and a short rendering of what its own steps return.
    texts = [Evidence.model_validate(e).brief() for e in state.get("evidence", [])][-10:]
    tokens = 0
    # the calls already made (the playbook steps included): the router never makes one of them again
    seen = {call_key(e["tool"], state["alert"], e.get("args", {})) for e in state.get("evidence", [])}
    steps = 0
    finished = False
    while steps < ctx.max_steps and tokens < ctx.max_tokens:
        try:
            choice = choose_next(ctx.model, ROUTER_SYSTEM, brief(state, texts), router_options())
        except ModelCallFailed as e:
            # the evidence so far stands: a failed call ends the loop, it does not fail the case
            tokens += e.tokens
            update.setdefault("trace", []).append(
                {"model_call": "router", "prompt_version": PROMPT_VERSION, "error": str(e), "tokens": e.tokens})
            update.setdefault("notes", []).append(f"investigate stopped: {e}")
            finished = True
            break
        tokens += choice.tokens
        update.setdefault("trace", []).append(
            {"model_call": "router", "prompt_version": PROMPT_VERSION, "choice": choice.tool, "args": choice.args,
             "reason": choice.reason, "raw": _raw(choice.raw), "tokens": choice.tokens, "valid": choice.valid,
             "error": choice.error})
        if choice.tool == "done":
            finished = True
            break
        key = call_key(choice.tool, state["alert"], dict(choice.args))
        if key in seen:
            # never the same call twice: a small model that repeats itself has nothing new to ask (measured: the
            # 1.5B model chose `trace out 2 hops` three times in a row), so the loop ends here
            update["trace"].append({"guard": "repeat", "changed": f"stopped: {choice.tool} {choice.args} already ran"})
            finished = True
            break
        steps += 1
        seen.add(key)
        ev = run_tool(ctx, state["alert"], choice.tool, dict(choice.args))
        update["trace"].append(tool_event(ev, "router"))
        texts.append(ev.render(max_rows=5)[:900])
    if not finished:
        update.setdefault("notes", []).append(f"investigate stopped at the budget ({steps} steps, {tokens} tokens)")
    update["steps_taken"] = steps
    update["tokens"] = {"tok_investigate": tokens}


def _raw(msg: Any) -> str:
    """The router reply's raw tool-call arguments (or text), for the trace."""
    import json

    if msg is None:
        return ""
    calls = getattr(msg, "tool_calls", None) or []
    return json.dumps(calls[0].get("args", {}), default=str)[:2000] if calls else str(msg.content or "")[:2000]


def investigate(state: CaseState, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Follow leads with the model's chosen tools (bounded); no-op for the rules backend."""
    ctx = runtime.context
    update: dict[str, Any] = {}
    with timed(update, "investigate"):
        if ctx.model is None or ctx.style == "rules":
            return update
        before = len(ctx.ledger)
        if ctx.style == "native":
            from agent.native import native_loop

            native_loop(state, ctx, update)
        else:
            _router_loop(state, ctx, update)
        update["evidence"] = new_evidence(ctx, before)
    return update
