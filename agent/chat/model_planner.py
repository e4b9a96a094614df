"""A small model's plan for a question, under constrained decoding.

The bundled 1.5B model cannot run a tool loop (docs/backends.md), but with llama.cpp compiling a
JSON schema into a grammar (`response_format: {"type": "json_object", "schema": ...}`) every reply
parses, and the schema's enums make it choose a tool from the catalog and a target from the slots the
extractor found: it cannot invent an id. The system prompt (tool menu and examples) is a constant, so
it is byte-identical at the start of every request and llama.cpp reuses its cached prefix; only the
short question and slot lines are new tokens. The result is validated (agent.chat.planner); an invalid
plan falls back to the rules plan, and the trace keeps the prompt version, raw output, parsed plan,
token counts and what the floor changed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from agent.chat.catalog import CATALOG, Call
from agent.chat.entities import Slots
from agent.chat.planner import MAX_CALLS, subject_targets, validate_call
from agent.prompts import PLANNER_SYSTEM, fence

PLAN_MAX_TOKENS = 120


@dataclass
class ModelPlan:
    """What the model proposed, and what of it survived validation."""

    calls: list[Call]
    raw: str
    parsed: Any
    errors: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0


def plan_schema(slots: Slots, subject: dict[str, str]) -> dict[str, Any]:
    """The JSON schema of a plan whose targets are exactly the offered entities."""
    targets = [v for v, _ in subject_targets(slots, subject)] or ["none"]
    return {
        "type": "object",
        "properties": {"calls": {"type": "array", "minItems": 1, "maxItems": MAX_CALLS, "items": {
            "type": "object",
            "properties": {
                "tool": {"type": "string", "enum": list(CATALOG)},
                "target": {"type": "string", "enum": targets},
                "direction": {"type": "string", "enum": ["in", "out", "both"]},
                "hops": {"type": "integer", "enum": [1, 2, 3, 4]},
            },
            "required": ["tool", "target"],
        }}},
        "required": ["calls"],
    }


def user_text(question: str, slots: Slots, subject: dict[str, str]) -> str:
    targets = subject_targets(slots, subject)
    ents = "; ".join(f"{v} ({k})" for v, k in targets) or "none"
    extra = [f"hops: {slots.hops}"] if slots.hops else []
    if slots.direction:
        extra.append(f"direction words: {slots.direction}")
    return (f"Question: {fence(question, 'question')}\nEntities: {ents}"
            + (f"\nHints: {', '.join(extra)}" if extra else ""))


def model_plan(model: Any, question: str, slots: Slots, subject: dict[str, str], timeout_s: float = 60.0) -> ModelPlan:
    """Ask the model for a plan; raises ModelCallFailed when the endpoint fails."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from agent.llm.call import invoke

    schema = plan_schema(slots, subject)
    body = {"max_tokens": PLAN_MAX_TOKENS, "response_format": {"type": "json_object", "schema": schema}}
    start = time.perf_counter()
    # Not streamed: LangGraph's message stream would otherwise make the call stream, and then the time
    # limit only bounds the gap between chunks (measured: 289 s under a 60 s limit) and the reply carries
    # no token counts. The plan is not shown token by token anyway.
    whole = model.model_copy(update={"disable_streaming": True}) if hasattr(model, "model_copy") else model
    runnable = whole.bind(extra_body=body, timeout=timeout_s).with_config(tags=["nostream"])
    reply = invoke(runnable, [SystemMessage(PLANNER_SYSTEM), HumanMessage(user_text(question, slots, subject))],
                   "chat plan")
    raw = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
    usage = getattr(reply, "usage_metadata", None) or {}
    out = ModelPlan([], raw, None, tokens_in=int(usage.get("input_tokens", 0)),
                    tokens_out=int(usage.get("output_tokens", 0)), seconds=round(time.perf_counter() - start, 2))
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as e:
        out.errors.append(f"not JSON: {e}")
        return out
    out.parsed = parsed
    items = parsed.get("calls") if isinstance(parsed, dict) else None
    if not isinstance(items, list) or not items:
        out.errors.append("no calls in the plan")
        return out
    for item in items[:MAX_CALLS]:
        call, error = validate_call(item if isinstance(item, dict) else {}, slots, subject)
        if call is None:
            out.errors.append(error)
        elif all(call.key() != c.key() for c in out.calls):
            out.calls.append(call)
    return out
