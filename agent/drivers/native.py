"""The native driver, for a capable endpoint (openai:<model>): the model calls the tools itself and writes
the whole narrative from the template's facts.

Tool results go back as ToolMessages carrying the evidence rendering (with its [E#] id). The loop is
bounded by the step and token budget; a tool error is fed back as the tool's message so the model
can correct itself, and a call already made gets the earlier evidence id back.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.context import InvestigationContext
from agent.drivers import Written
from agent.drivers.common import brief, call_text, end_loop, narrative_request, revise_whole, stopped_by_failure
from agent.llm.call import ModelCallFailed, invoke
from agent.nodes.common import made_calls
from agent.prompts import INVESTIGATOR_SYSTEM, NARRATIVE_SYSTEM
from agent.state import CaseState
from tools.registry import call_key


def invoke_tool(tool: Any, args: dict[str, Any]) -> str:
    """Run one tool call; arguments that do not fit its schema come back as text the model can fix."""
    from langchain_core.tools import ToolException
    from pydantic import ValidationError

    try:
        return str(tool.invoke(args))
    except (ValidationError, ToolException) as e:
        detail = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:4]) \
            if isinstance(e, ValidationError) else str(e)
        return f"ERROR: invalid arguments for {tool.name}({', '.join(map(str, args))}): {detail}"


class NativeDriver:
    """A capable model: native tool calling, a whole narrative."""

    name = "native"
    reads_traces = True
    revises = True

    def investigate(self, state: CaseState, ctx: InvestigationContext, update: dict[str, Any]) -> None:
        """Let the model call tools until it stops or the budget runs out."""
        from agent.chat.toolkit import make_chat_tools
        from tools.evidence import Evidence
        from tools.lc import make_tools

        # The narrow investigation tools (profile, exposure, trace, ...) plus free SQL and the schema.
        narrow = make_chat_tools(ctx, lambda: state["alert"], lambda ev: None)
        tools = {t.name: t for t in narrow} | {t.name: t for t in make_tools(ctx.db, ctx.ledger, ctx.settings)}
        bound = ctx.model.bind_tools(list(tools.values()))
        texts = [Evidence.model_validate(e).render(max_rows=5) for e in state.get("evidence", [])][-8:]
        messages: list[BaseMessage] = [SystemMessage(INVESTIGATOR_SYSTEM), HumanMessage(brief(state, texts))]
        # a call already made (a playbook step or an earlier reply) is answered with its evidence id, not run again
        made = made_calls(state)
        tokens = steps = 0
        finished = False
        while steps < ctx.max_steps and tokens < ctx.max_tokens:
            try:
                reply = invoke(bound, messages, "investigate")
            except ModelCallFailed as e:
                stopped_by_failure(update, {"model_call": "native"}, e)
                finished = True
                break
            tokens += int((getattr(reply, "usage_metadata", None) or {}).get("total_tokens", 0))
            if not isinstance(reply, AIMessage) or not reply.tool_calls:
                finished = True
                break
            messages.append(reply)
            for call in reply.tool_calls:
                if steps >= ctx.max_steps:
                    break  # a reply asking for more calls than the budget has left: the rest are not run
                steps += 1
                key = call_key(call["name"], state["alert"], call["args"])
                tool = tools.get(call["name"])
                if key in made:
                    content = f"already ran: see [{made[key]}]; ask for something not yet in the evidence"
                    update.setdefault("trace", []).append(
                        {"guard": "repeat", "changed": f"not run again: {call['name']} {call['args']} is {made[key]}"})
                elif tool is None:
                    content = f"unknown tool {call['name']!r}; available: {', '.join(tools)}"
                else:
                    before = len(ctx.ledger)
                    content = invoke_tool(tool, call["args"])
                    if len(ctx.ledger) > before:
                        made[key] = ctx.ledger.all()[-1].id
                update.setdefault("trace", []).append(
                    {"model_call": "native", "tool": call["name"], "args": call["args"], "result": content[:300]})
                messages.append(ToolMessage(content=content, tool_call_id=call["id"]))
        end_loop(update, finished, steps, tokens)

    def write(self, state: CaseState, ctx: InvestigationContext, template: str) -> Written:
        text, tokens = call_text(ctx.model, NARRATIVE_SYSTEM, narrative_request(state, ctx.playbooks, template),
                                 "narrative")
        return (text or template), tokens, []

    def revise(self, state: CaseState, ctx: InvestigationContext, template: str, unsupported: list[str]) -> Written:
        return revise_whole(ctx.model, state.get("narrative", ""), template, unsupported)
