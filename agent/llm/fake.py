"""A scripted fake chat model, so tests exercise the agent's LLM paths without a model.

Tests script what "the model" says with `enqueue(...)`, run the code under test, then
assert on `.calls`. Each scripted response is consumed by exactly one model call:

- `str`: the assistant's text (streamed word by word by `.stream()`).
- `AIMessage`: returned as is (tool calls, odd replies, explicit `usage_metadata`).
- `dict`: a structured-output or tool-call result. Under `with_structured_output(Schema)`
  it becomes the arguments of the schema's tool call, so the real LangChain parser
  validates it exactly as it would a real model's function call (a bad dict therefore
  produces a real `ValidationError`). With tools bound it is either `{"name", "args"}`
  or, when exactly one tool is bound, that tool's arguments.
- an exception instance: raised by that call (timeouts, HTTP 500s, ...).

Why not `GenericFakeChatModel`: it has no `bind_tools`, no structured output and no
token usage, and the agent needs all three (router, native tool calling, budgets).
A structured call that meets a scripted `str` raises `FakeScriptError` instead of
silently parsing to None: a test script out of step with the code should fail loudly.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

_STRUCTURED_KEY = "fake_structured_tool"


class FakeScriptError(AssertionError):
    """The test's script does not fit the call the code made (wrong kind, or none left)."""


@dataclass
class FakeCall:
    """One model call as the fake saw it, for assertions in tests."""

    messages: list[BaseMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    structured: str | None = None  # the schema's tool name under with_structured_output
    kwargs: dict[str, Any] = field(default_factory=dict)
    usage: UsageMetadata | None = None  # what the reply reported (scripted or estimated)

    @property
    def text(self) -> str:
        """All message contents joined, handy for `assert "ACC-1" in call.text`."""
        return "\n".join(m.text for m in self.messages)


def estimate_tokens(text: str) -> int:
    """About four characters a token: deterministic, so token budgets can be tested."""
    return math.ceil(len(text) / 4) if text else 0


class FakeChatModel(BaseChatModel):
    """Chat model that answers from a queue of scripted responses and records every call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str = "fake"
    responses: deque[Any] = Field(default_factory=deque)
    calls: list[FakeCall] = Field(default_factory=list)
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, responses: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.responses.extend(responses)

    # -- scripting ------------------------------------------------------------------------

    def enqueue(self, *responses: Any) -> FakeChatModel:
        """Add responses to the end of the queue; returns self so calls can be chained."""
        with self._lock:
            self.responses.extend(responses)
        return self

    @property
    def remaining(self) -> int:
        """Scripted responses not consumed yet."""
        return len(self.responses)

    @property
    def total_tokens(self) -> int:
        """Tokens reported so far, summed over all calls (what a budget would see)."""
        return sum(c.usage["total_tokens"] for c in self.calls if c.usage)

    # -- LangChain interface --------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "sleuth-fake"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Record the tools (as OpenAI tool dicts) and bind them, like a real chat model."""
        converted = [convert_to_openai_tool(t) for t in tools]
        self.bound_tools = converted
        structured = kwargs.get("ls_structured_output_format")
        if structured:
            kwargs[_STRUCTURED_KEY] = converted[0]["function"]["name"]
        return self.bind(tools=converted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Accept `method=` like ChatOpenAI; every method is served as a function call."""
        kwargs.pop("method", None)
        kwargs.pop("strict", None)
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._next_message(messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Yield the content word by word (whitespace kept), then tool calls, then usage."""
        message = self._next_message(messages, kwargs)
        content = message.content if isinstance(message.content, str) else message.text
        for token in (t for t in re.split(r"(\s+)", content) if t):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token, id=message.id))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
        tool_chunks = [
            {"name": tc["name"], "args": json.dumps(tc["args"]), "id": tc["id"], "index": i, "type": "tool_call_chunk"}
            for i, tc in enumerate(message.tool_calls)
        ]
        last = AIMessageChunk(
            content="",
            id=message.id,
            tool_call_chunks=tool_chunks,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
        yield ChatGenerationChunk(message=last)

    # -- internals ------------------------------------------------------------------------

    def _next_message(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        """Pop the next scripted response, record the call, and turn it into an AIMessage."""
        call = FakeCall(
            messages=list(messages),
            tools=list(kwargs.get("tools") or []),
            tool_choice=kwargs.get("tool_choice"),
            structured=kwargs.get(_STRUCTURED_KEY),
            kwargs={k: v for k, v in kwargs.items() if k not in ("tools", "tool_choice", _STRUCTURED_KEY)},
        )
        with self._lock:
            self.calls.append(call)
            number = len(self.calls)
            if not self.responses:
                raise FakeScriptError(
                    f"FakeChatModel: call #{number} found no scripted response left "
                    f"(last message: {_clip(messages[-1].text if messages else '')!r}); enqueue more."
                )
            response = self.responses.popleft()
        if isinstance(response, BaseException):
            raise response
        message = self._to_message(response, call, number)
        if message.usage_metadata is None:
            message.usage_metadata = _usage(messages, call.tools, message)
        call.usage = message.usage_metadata
        return message

    def _to_message(self, response: Any, call: FakeCall, number: int) -> AIMessage:
        meta = {"model_name": self.model_name}
        # Ids unique across fake instances too: a resumed chat thread merges messages by id, so a
        # second session's "fake-1" would overwrite the first session's reply.
        uid = f"{number}-{uuid.uuid4().hex[:8]}"
        if isinstance(response, AIMessage):
            message = response.model_copy(deep=True)
            message.id = message.id or f"fake-{uid}"
            message.response_metadata = {**meta, **message.response_metadata}
            return message
        if isinstance(response, str):
            if call.structured:
                raise FakeScriptError(
                    f"FakeChatModel: call #{number} asked for structured output "
                    f"{call.structured!r} but the next scripted response is text: {_clip(response)!r}"
                )
            return AIMessage(content=response, id=f"fake-{uid}", response_metadata={**meta, "finish_reason": "stop"})
        if isinstance(response, dict):
            name, args = self._tool_call_for(response, call, number)
            return AIMessage(
                content="",
                id=f"fake-{uid}",
                tool_calls=[{"name": name, "args": args, "id": f"call_{uid}", "type": "tool_call"}],
                response_metadata={**meta, "finish_reason": "tool_calls"},
            )
        raise FakeScriptError(
            f"FakeChatModel: scripted response #{number} has unsupported type {type(response).__name__}; "
            "use str, AIMessage, dict or an exception"
        )

    @staticmethod
    def _tool_call_for(response: dict[str, Any], call: FakeCall, number: int) -> tuple[str, dict[str, Any]]:
        if call.structured:
            return call.structured, response
        if set(response) == {"name", "args"}:
            return str(response["name"]), dict(response["args"])
        if len(call.tools) == 1:
            return call.tools[0]["function"]["name"], response
        raise FakeScriptError(
            f"FakeChatModel: call #{number} got a dict but {len(call.tools)} tools are bound and it is "
            "not {'name': ..., 'args': ...}; with no tools bound, script a str or AIMessage instead"
        )


def _usage(messages: list[BaseMessage], tools: list[dict[str, Any]], reply: AIMessage) -> UsageMetadata:
    prompt = "".join(m.text for m in messages) + (json.dumps(tools) if tools else "")
    output = reply.text + "".join(json.dumps(tc["args"]) for tc in reply.tool_calls)
    inp, out = estimate_tokens(prompt), estimate_tokens(output)
    return UsageMetadata(input_tokens=inp, output_tokens=out, total_tokens=inp + out)


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
