"""The conversation graph: questions answered with tools, checkpointed per thread on disk.

native style (capable endpoints): `agent` (model with tools bound) <-> `tools`, until the model
answers in text; `check` then verifies that answer against the turn's evidence before it is shown.
rules and router styles (no model, or a small local one): `plan` (slots, then a deterministic plan or
the model's constrained plan under it) -> `run` (each call once) -> `compose` (the answer written from
the evidence, checked, streamed). See agent.chat.answering.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime

from agent.context import InvestigationContext
from agent.llm.call import invoke
from agent.prompts import CHAT_SYSTEM, fence


class ChatState(TypedDict, total=False):
    """A conversation: messages, the evidence gathered, the current focus (alert or account)."""

    messages: Annotated[list[AnyMessage], add_messages]
    evidence: Annotated[list[dict[str, Any]], operator.add]
    focus: dict[str, Any]
    subject: dict[str, str]
    plan: dict[str, Any]
    results: list[dict[str, Any]] | None
    model_paused_until: str
    trace: Annotated[list[dict[str, Any]], operator.add]


@dataclass(kw_only=True)
class ChatContext:
    """Run-scoped dependencies of the conversation graph."""

    inv: InvestigationContext = field(metadata={"description": "Database, ledger, model and settings."})
    tools: list[Any] = field(default_factory=list, metadata={"description": "LangChain tools for the model."})
    max_steps: int = field(default=4, metadata={"description": "Most tool calls per question."})


def _steps_since_question(messages: list[AnyMessage]) -> int:
    n = 0
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            break
        if isinstance(m, ToolMessage):
            n += 1
    return n


def transcript(messages: list[AnyMessage], limit: int = 12) -> str:
    """The conversation as plain text (small local models drop role=tool messages)."""
    lines = []
    for m in messages[-limit:]:
        if isinstance(m, HumanMessage):
            lines.append(f"Investigator: {fence(str(m.content), 'question')}")
        elif isinstance(m, ToolMessage):
            lines.append(f"Tool result:\n{m.content}")
        elif isinstance(m, AIMessage) and m.content:
            lines.append(f"Assistant: {m.content}")
    return "\n\n".join(lines)


def _focus_text(state: ChatState) -> str:
    f = state.get("focus") or {}
    if f.get("alert_id"):
        return f"Current alert {f['alert_id']} on account {f['account_id']}, raised {f['created_at'][:19]}."
    if f.get("account_id"):
        return f"Current account {f['account_id']}; data up to {f['created_at'][:19]}."
    return f"No alert selected; data up to {str(f.get('created_at', ''))[:19]}."


def agent_node(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """Native style: the model's next move, a tool call or the answer itself."""
    ctx = runtime.context
    system = SystemMessage(CHAT_SYSTEM + "\n" + _focus_text(state))
    reply = invoke(ctx.inv.model.bind_tools(ctx.tools), [system, *complete_pairs(state["messages"])], "chat agent")
    return {"messages": [reply]}


def tools_node(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """Run the tool calls of the last model message; each result carries its evidence id, and the
    evidence itself goes into the thread's state (so a resumed thread has its ledger back)."""
    from agent.drivers.native import invoke_tool

    by_name = {t.name: t for t in runtime.context.tools}
    ledger = runtime.context.inv.ledger
    before = len(ledger)
    last = state["messages"][-1]
    out = []
    for call in getattr(last, "tool_calls", []) or []:
        tool = by_name.get(call["name"])
        content = (f"unknown tool {call['name']!r}" if tool is None else invoke_tool(tool, call["args"]))
        out.append(ToolMessage(content=content, tool_call_id=call["id"], name=call["name"]))
    return {"messages": out, "evidence": [e.model_dump() for e in ledger.all()[before:]]}


def start_route(state: ChatState, runtime: Runtime[ChatContext]) -> Literal["agent", "plan"]:
    """Native tool calling for capable endpoints; the planned answer otherwise."""
    ctx = runtime.context.inv
    return "agent" if ctx.model is not None and ctx.style == "native" else "plan"


def after_agent(state: ChatState, runtime: Runtime[ChatContext]) -> Literal["tools", "check"]:
    """Tools while the model asks for them (bounded), then the check of its answer."""
    last = state["messages"][-1]
    wants_tools = isinstance(last, AIMessage) and bool(last.tool_calls)
    if wants_tools and _steps_since_question(state["messages"]) < runtime.context.max_steps:
        return "tools"
    return "check"


def complete_pairs(messages: list[AnyMessage]) -> list[AnyMessage]:
    """Drop tool-call messages whose results never arrived (an answer cancelled with Ctrl-C)."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    return [m for m in messages
            if not (isinstance(m, AIMessage) and m.tool_calls and not all(c["id"] in answered for c in m.tool_calls))]


def build_chat_graph(checkpointer: Any | None = None) -> Any:
    """Compile the conversation graph."""
    from agent.chat.answering import check_native_node, compose_node, plan_node, run_node

    builder = StateGraph(ChatState, context_schema=ChatContext)
    builder.add_node("agent", agent_node)
    builder.add_node("tools", tools_node)
    builder.add_node("check", check_native_node)
    builder.add_node("plan", plan_node)
    builder.add_node("run", run_node)
    builder.add_node("compose", compose_node)
    builder.add_conditional_edges(START, start_route, ["agent", "plan"])
    builder.add_conditional_edges("agent", after_agent, ["tools", "check"])
    builder.add_edge("tools", "agent")
    builder.add_edge("check", END)
    builder.add_edge("plan", "run")
    builder.add_edge("run", "compose")
    builder.add_edge("compose", END)
    return builder.compile(name="sleuth-chat", checkpointer=checkpointer)
