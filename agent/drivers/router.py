"""The router driver, for a small local model: it picks one narrow, parameterised step at a time under
a grammar; the tool runs in code and its result goes back as text. It writes a short cited summary put
on top of the template: at the measured ~12-36 generated tokens/s on 2 cores, rewriting a 2,000-token
narrative took minutes, and the verifier removes whatever it invents either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.context import InvestigationContext
from agent.drivers import Written
from agent.drivers.common import brief, call_text, end_loop, narrative_request, revise_whole, stopped_by_failure
from agent.llm.call import ModelCallFailed
from agent.nodes.common import made_calls, tool_event
from agent.prompts import PROMPT_VERSION, ROUTER_SYSTEM, SUMMARY_SYSTEM
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


SUMMARY_MAX_TOKENS = 220
REVISE_HINT = "A checker found claims that are not in the evidence they cite: fix or drop them."


SENTENCE_RE = re.compile(r"(?<=[.!?\]])\s+(?=[A-Z\"'(])")
CITATION_RE = re.compile(r"\[E\d+")


def cited_sentences(text: str) -> tuple[str, int]:
    """The sentences that cite evidence, and how many did not. Measured with the bundled 1.5B model:
    most summaries began by echoing the playbook's must-state list ("what the customer said when
    contacted, if contacted") as uncited prose, which told an investigator nothing and read as a claim."""
    parts = [p for p in SENTENCE_RE.split(" ".join(text.split())) if p]
    kept = [p for p in parts if CITATION_RE.search(p)]
    return " ".join(kept), len(parts) - len(kept)


def with_summary(text: str, template: str, fallback: str) -> tuple[str, list[str]]:
    """The model's cited summary sentences on top of the template (the fallback when none cite),
    and a note of the uncited sentences dropped (the report says what was removed)."""
    kept, dropped = cited_sentences(text.removeprefix("Summary:").strip())
    notes = [f"narrative: dropped {dropped} uncited sentence(s) of the model's summary"] if dropped else []
    return (f"Summary: {kept}\n\n{template}" if kept else fallback), notes


class RouterDriver:
    """A small model: one step at a time, a summary on top of the template."""

    name = "router"
    reads_traces = True
    revises = True

    def investigate(self, state: CaseState, ctx: InvestigationContext, update: dict[str, Any]) -> None:
        """One step at a time until `done`, a repeat, a failed call or the budget."""
        from agent.llm.router import choose_next
        from tools.evidence import Evidence

        # A 1.5B model on 2 cores reads about 150 prompt tokens/s: it gets one line per evidence item,
        # and a short rendering of what its own steps return.
        texts = [Evidence.model_validate(e).brief() for e in state.get("evidence", [])][-10:]
        tokens = 0
        # the calls already made (the playbook steps included): the router never makes one of them again
        seen = set(made_calls(state))
        steps = 0
        finished = False
        while steps < ctx.max_steps and tokens < ctx.max_tokens:
            try:
                choice = choose_next(ctx.model, ROUTER_SYSTEM, brief(state, texts), router_options(),
                                     defaults={"account_id": state["alert"]["account_id"]})
            except ModelCallFailed as e:
                tokens += e.tokens
                stopped_by_failure(update, {"model_call": "router", "prompt_version": PROMPT_VERSION,
                                            "tokens": e.tokens}, e)
                finished = True
                break
            tokens += choice.tokens
            update.setdefault("trace", []).append(
                {"model_call": "router", "prompt_version": PROMPT_VERSION, "choice": choice.tool, "args": choice.args,
                 "reason": choice.reason, "raw": _raw(choice.raw), "tokens": choice.tokens, "valid": choice.valid,
                 "error": choice.error, "attempts": choice.attempts, "errors": choice.errors})
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
            update["trace"].append(tool_event(ev, "router", key))
            texts.append(ev.render(max_rows=5)[:900])
        end_loop(update, finished, steps, tokens)

    def write(self, state: CaseState, ctx: InvestigationContext, template: str) -> Written:
        text, tokens = call_text(_short(ctx.model), SUMMARY_SYSTEM, narrative_request(state, ctx.playbooks, template),
                                 "narrative")
        narrative, notes = with_summary(text, template, fallback=template)
        return narrative, tokens, notes

    def revise(self, state: CaseState, ctx: InvestigationContext, template: str, unsupported: list[str]) -> Written:
        narrative = state.get("narrative", "")
        if not narrative.startswith("Summary:"):
            return revise_whole(ctx.model, narrative, template, unsupported)
        summary = narrative.split("\n\n", 1)[0]
        problems = "\n- ".join(unsupported)
        text, tokens = call_text(_short(ctx.model), SUMMARY_SYSTEM + " " + REVISE_HINT,
                                 f"SUMMARY:\n{summary}\n\nUNSUPPORTED CLAIMS:\n- {problems}\n\nFACT SHEET:\n{template}",
                                 "revise")
        revised, notes = with_summary(text, template, fallback=narrative)
        return revised, tokens, notes


def _short(model: Any) -> Any:
    """The model with the summary's token cap (llama.cpp takes max_tokens in the body)."""
    return model.bind(extra_body={"max_tokens": SUMMARY_MAX_TOKENS}) if hasattr(model, "bind") else model


def _raw(msg: Any) -> str:
    """The router reply's raw tool-call arguments (or text), for the trace."""
    if msg is None:
        return ""
    calls = getattr(msg, "tool_calls", None) or []
    return json.dumps(calls[0].get("args", {}), default=str)[:2000] if calls else str(msg.content or "")[:2000]


