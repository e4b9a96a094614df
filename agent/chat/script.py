"""`--model fake:FILE`: a scripted fake model for demos and terminal tests (no LLM involved).

FILE is a JSON list; each item answers one model call: a string is a text reply, an object
{"tool_calls": [{"name": ..., "args": {...}}]} is a tool call, {"sleep": S, "text": T} streams T
slowly (to test Ctrl-C), and any other object is a structured-output result.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage

from tools.errors import InputInvalid


def load_script(path: Path) -> Any:
    """A FakeChatModel queued with the file's replies."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputInvalid(f"{path}: not a JSON list of scripted replies ({e})") from e
    if not isinstance(items, list):
        raise InputInvalid(f"{path}: not a JSON list of scripted replies")
    replies: list[Any] = []
    tag = uuid.uuid4().hex[:6]  # tool-call ids stay unique when a later run resumes the same thread
    for n, item in enumerate(items):
        if isinstance(item, dict) and "tool_calls" in item:
            calls = [{"name": c["name"], "args": c.get("args", {}), "id": f"call_{tag}_{n}_{i}", "type": "tool_call"}
                     for i, c in enumerate(item["tool_calls"])]
            replies.append(AIMessage(content="", tool_calls=calls))
        elif isinstance(item, dict) and "sleep" in item:
            replies.append(SlowText(item.get("text", ""), float(item["sleep"])))
        else:
            replies.append(item)
    return _scripted_class()(replies)


def _scripted_class() -> type:
    """FakeChatModel that honours SlowText delays while streaming (imported lazily)."""
    from agent.llm.fake import FakeChatModel

    class ScriptedChatModel(FakeChatModel):
        def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
            nxt = self.responses[0] if self.responses else None
            delay = getattr(nxt, "delay", 0.0)
            for chunk in super()._stream(messages, stop, run_manager, **kwargs):
                if delay:
                    time.sleep(delay)
                yield chunk

    return ScriptedChatModel


class SlowText(str):
    """A text reply that the fake model streams slowly (each chunk waits)."""

    def __new__(cls, text: str, delay: float) -> SlowText:
        obj = super().__new__(cls, text)
        obj.delay = delay  # type: ignore[attr-defined]
        return obj
