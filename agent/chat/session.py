"""A chat session: one thread of conversation with its model, tools, evidence and open cases.

Conversations and investigations are checkpointed in `<workspace>/chat.sqlite` (LangGraph's
SQLite checkpointer), so `--thread NAME` resumes both the dialogue and any case still waiting
for an approval.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from agent.context import InvestigationContext
from agent.report import CaseReport
from tools.db import Database
from tools.errors import InputInvalid
from tools.evidence import Evidence, EvidenceLedger
from tools.settings import Settings


class AnswerCancelled(Exception):
    """Raised inside the model or tool call that Ctrl-C cancelled."""


class _Cancel(BaseCallbackHandler):
    """Stops a running answer at its next token or tool call once Ctrl-C was pressed.

    LangGraph runs the node in a worker thread: a KeyboardInterrupt in the main thread alone would
    wait for the whole answer to finish streaming before the prompt came back.
    """

    raise_error = True

    def __init__(self) -> None:
        self.event = threading.Event()

    def _check(self, *args: Any, **kwargs: Any) -> None:
        if self.event.is_set():
            raise AnswerCancelled("answer cancelled")

    on_llm_new_token = on_chat_model_start = on_llm_start = on_tool_start = _check

    @contextmanager
    def on_sigint(self) -> Iterator[None]:
        """While answering (main thread only): Ctrl-C sets the flag, then interrupts as usual."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            self.event.set()
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


class _QuietCancel(logging.Filter):
    """LangChain logs every callback error as a warning; a cancelled answer is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.args, tuple) and record.args[:1] == (_Cancel.__name__,))


logging.getLogger("langchain_core.callbacks.manager").addFilter(_QuietCancel())


@dataclass
class _Hooks:
    """Where a streamed answer's events go (the REPL prints them; tests collect them)."""

    on_token: Callable[[str], None]
    on_tool: Callable[[str, dict, Evidence], None]
    on_tool_start: Callable[[str, dict], None]
    on_status: Callable[[str], None]


class ChatSession:
    """State and actions behind the REPL (no terminal I/O here, so tests can drive it)."""

    def __init__(self, settings: Settings, thread: str, model_name: str, model: Any | None = None,
                 style: str | None = None, chat_db: Path | None = None) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        from agent.chat.graph import build_chat_graph
        from agent.graph import build_graph

        self.settings = settings
        self.thread = thread
        self.db = Database.open(settings)
        settings.home.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(chat_db or settings.home / "chat.sqlite"), check_same_thread=False)
        self.checkpointer = SqliteSaver(self._conn)
        self.chat_graph = build_chat_graph(self.checkpointer)
        self.case_graph = build_graph(self.checkpointer)
        self.model_name, self.model, self.style, self.note = "rules", None, "rules", ""
        self.set_model(model_name, model, style)
        self.ledger = EvidenceLedger(settings.evidence_row_cap)
        for e in self.history_state().get("evidence", []):
            self.ledger._items.append(Evidence.model_validate(e))
        self.pending_case: str | None = self._find_pending_case()

    # --- model -----------------------------------------------------------------------------
    def set_model(self, name: str, model: Any | None = None, style: str | None = None) -> str:
        """Switch backend; returns a line saying what is in use (and why, after a fallback)."""
        self.learned = None
        self.model_decides = True
        if model is not None:
            self.model_name, self.model, self.style = name, model, style or "native"
            return f"model: {name} ({self.style})"
        if name == "rules":
            self.model_name, self.model, self.style = "rules", None, "rules"
            return "model: rules (no LLM: slash commands and deterministic answers only)"
        from agent.llm.models import build_chat_model

        self.model, info = build_chat_model(name, self.settings)
        self.style = info.style
        self.learned = info.learned
        self.model_decides = info.decides
        self.model_name = name if self.model is not None or info.backend == "learned" else "rules"
        self.note = getattr(info, "reason", "") or ""
        return f"model: {self.model_name} ({self.style})" + (f" - {self.note}" if self.note else "")

    # --- context ---------------------------------------------------------------------------
    def inv_context(self, interactive: bool = False) -> InvestigationContext:
        return InvestigationContext(
            settings=self.settings, db=self.db, ledger=self.ledger, model=self.model, model_name=self.model_name,
            learned=self.learned, model_decides=self.model_decides,
            style=self.style, max_steps=self.settings.investigate_max_steps,  # type: ignore[arg-type]
            max_tokens=self.settings.investigate_max_tokens, interactive=interactive)

    def data_end(self) -> datetime:
        ts = self.db.scalar("SELECT max(ts) FROM transactions")
        return ts if isinstance(ts, datetime) else datetime.now()

    def focus(self) -> dict[str, Any]:
        """The alert or account questions refer to (its window drives the tools)."""
        f = self.history_state().get("focus") or {}
        if f:
            return f
        end = self.data_end()
        return {"alert_id": None, "account_id": "", "rule_id": "", "created_at": end.isoformat(),
                "window_start": (end - timedelta(days=self.settings.window_days)).isoformat(), "description": ""}

    def set_focus_alert(self, alert_id: str) -> dict[str, Any]:
        from tools.alerts import alert_context

        a = alert_context(self.db, alert_id)
        focus = {"alert_id": a.alert_id, "account_id": a.account_id, "rule_id": a.rule_id,
                 "created_at": str(a.created_at), "window_start": str(a.window_start), "description": a.description}
        # As `compose` (whose only edge is to END): written as the last node `agent`, update_state would
        # run its router without the run's context and fail (langgraph issue #6340).
        self.chat_graph.update_state(self._config(), {"focus": focus, "subject": {"account": a.account_id}},
                                     as_node="compose")
        return focus

    def _config(self, suffix: str = "") -> dict[str, Any]:
        return {"configurable": {"thread_id": self.thread + suffix}}

    def history_state(self) -> dict[str, Any]:
        snap = self.chat_graph.get_state(self._config())
        return dict(snap.values) if snap and snap.values else {}

    def history(self) -> list[Any]:
        return list(self.history_state().get("messages", []))

    # --- questions -------------------------------------------------------------------------
    def ask(self, question: str, on_token: Callable[[str], None], on_tool: Callable[[str, dict, Evidence], None],
            on_tool_start: Callable[[str, dict], None] | None = None,
            on_status: Callable[[str], None] | None = None) -> str:
        """Answer a free question with the tools (planned, or the model's own calls on a capable endpoint);
        streams the answer's tokens and each tool call's start and end."""
        from agent.chat.graph import ChatContext
        from agent.chat.toolkit import make_chat_tools

        new_evidence: list[Evidence] = []
        calls: dict[str, tuple[str, dict]] = {}

        def record(ev: Evidence) -> None:
            new_evidence.append(ev)

        tools = make_chat_tools(self.inv_context(), self.focus, record) if self.style == "native" else []
        ctx = ChatContext(inv=self.inv_context(), tools=tools, max_steps=self.settings.investigate_max_steps)
        answer: list[str] = []
        state_in = {"messages": [HumanMessage(question)], "focus": self.focus()}
        cancel = _Cancel()
        config = {**self._config(), "callbacks": [cancel]}
        hooks = _Hooks(on_token, on_tool, on_tool_start or (lambda n, a: None), on_status or (lambda t: None))
        with cancel.on_sigint():
            self._stream(state_in, config, ctx, answer, calls, new_evidence, hooks)
        return "".join(answer)

    def _stream(self, state_in: dict[str, Any], config: dict[str, Any], ctx: Any, answer: list[str],
                calls: dict[str, tuple[str, dict]], new_evidence: list[Evidence], hooks: _Hooks) -> None:
        from agent.chat.check import StreamChecker

        native = StreamChecker(new_evidence, self.ledger.all())  # the native model's own tokens, shown clause by clause once checked

        def show(pieces: list[str]) -> None:
            for piece in pieces:
                answer.append(piece)
                hooks.on_token(piece)

        for mode, payload in self.chat_graph.stream(state_in, config, context=ctx,
                                                    stream_mode=["custom", "updates", "messages"]):
            if mode == "messages":
                chunk, meta = payload
                text = chunk.content if isinstance(chunk.content, str) else ""
                if meta.get("langgraph_node") == "agent" and text and not getattr(chunk, "tool_call_chunks", None):
                    show(native.feed(text))
            elif mode == "custom" and isinstance(payload, dict):
                event = payload.get("event")
                if event == "token":
                    answer.append(payload["text"])
                    hooks.on_token(payload["text"])
                elif event == "tool_start":
                    hooks.on_tool_start(payload["tool"], payload["args"])
                elif event == "tool_end":
                    hooks.on_tool(payload["tool"], payload["args"], payload["evidence"])
                elif event == "status":
                    hooks.on_status(payload["text"])
            elif mode == "updates":
                for upd in payload.values():
                    for m in (upd or {}).get("messages", []) if isinstance(upd, dict) else []:
                        if isinstance(m, AIMessage) and m.tool_calls:
                            for c in m.tool_calls:
                                calls[c["id"]] = (c["name"], c["args"])
                                hooks.on_tool_start(c["name"], c["args"])
                        if isinstance(m, ToolMessage) and new_evidence:
                            name, args = calls.get(m.tool_call_id, (m.name or "tool", {}))
                            hooks.on_tool(name, args, new_evidence[-1])
        show(native.flush())

    def last_trace(self) -> list[dict[str, Any]]:
        """The trace records of the thread's last question (plan, model call, tools, check)."""
        trace = list(self.history_state().get("trace") or [])
        start = max((i for i, t in enumerate(trace) if t.get("turn") == "chat_plan"), default=0)
        return trace[start:]

    # --- cases and approvals ---------------------------------------------------------------
    def run_case(self, alert_id: str, on_node: Callable[[str, str, dict[str, Any]], None] | None = None
                 ) -> tuple[CaseReport, list[dict[str, Any]]]:
        """Run the investigation graph; returns the report and the actions waiting for approval.
        `on_node(node, "start" | "end", update)` follows each node as it runs (the REPL prints it)."""
        self.set_focus_alert(alert_id)
        ctx = self.inv_context(interactive=True)
        ctx.ledger = EvidenceLedger(self.settings.evidence_row_cap)
        config = self._config(f"/case/{alert_id}")
        for _mode, task in self.case_graph.stream({"alert_id": alert_id}, config, context=ctx, stream_mode=["tasks"]):
            if on_node is None or not isinstance(task, dict) or str(task.get("name", "")).startswith("__"):
                continue
            if "result" in task or "error" in task:
                result = task.get("result")
                on_node(str(task["name"]), "end", dict(result) if isinstance(result, dict) else {})
            else:
                on_node(str(task["name"]), "start", {})
        snap = self.case_graph.get_state(config)
        report = CaseReport.model_validate(snap.values["report"])
        pending = [a for a in snap.values.get("actions", []) if a["status"] == "pending_approval"]
        self.pending_case = alert_id if snap.next else None
        return report, pending

    def decide(self, index: int, approve: bool) -> list[dict[str, Any]]:
        """Approve or reject pending action N of the open case (resumes the interrupted graph)."""
        if not self.pending_case:
            raise InputInvalid("no case is waiting for an approval: run /case ALERT first")
        config = self._config(f"/case/{self.pending_case}")
        snap = self.case_graph.get_state(config)
        indexes = [a["index"] for a in snap.values.get("actions", []) if a["status"] == "pending_approval"]
        if index not in indexes:
            raise InputInvalid(f"action {index} is not pending; pending: {', '.join(map(str, indexes)) or 'none'}")
        from agent.approvals import check, identity

        who = identity(self.settings)
        action = next(a["action"] for a in snap.values["actions"] if a["index"] == index)
        check(self.settings, action, who.name, opened_by=(snap.values.get("report") or {}).get("opened_by"))
        self.case_graph.invoke(Command(resume={"index": index, "approve": approve, "by": who.name,
                                               "by_source": who.source}),
                               config, context=self.inv_context(interactive=True))
        snap = self.case_graph.get_state(config)
        if not snap.next:
            self.pending_case = None
        return list(snap.values.get("actions", []))

    def _find_pending_case(self) -> str | None:
        """On resume: the case of this thread still interrupted for an approval, if any."""
        rows = self._conn.execute(
            "SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id LIKE ?", (self.thread + "/case/%",)
        ).fetchall() if self._has_table() else []
        for (tid,) in rows:
            snap = self.case_graph.get_state({"configurable": {"thread_id": tid}})
            if snap.next:
                return tid.split("/case/", 1)[1]
        return None

    def _has_table(self) -> bool:
        return bool(self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='checkpoints'").fetchone())

    def close(self) -> None:
        self.db.close()
        self._conn.close()
