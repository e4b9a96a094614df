"""The scripted fake chat model: the contract every LLM-path test relies on."""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from pydantic import BaseModel, ValidationError

from agent.llm.fake import FakeChatModel, FakeScriptError, estimate_tokens


class Pick(BaseModel):
    """Pick one."""

    tool: Literal["profile", "done"]
    reason: str


@tool
def profile(account_id: str) -> str:
    """Profile an account."""
    return account_id


@tool
def exposure(account_id: str, hops: int = 2) -> str:
    """Exposure of an account."""
    return account_id


def test_text_reply_and_call_recording() -> None:
    fake = FakeChatModel(["Hello analyst."])
    reply = fake.invoke([SystemMessage("be brief"), HumanMessage("hi ACC-000123")])
    assert reply.content == "Hello analyst."
    assert len(fake.calls) == 1
    assert [m.type for m in fake.calls[0].messages] == ["system", "human"]
    assert "ACC-000123" in fake.calls[0].text
    assert fake.remaining == 0


def test_enqueue_chains_and_keeps_order() -> None:
    fake = FakeChatModel().enqueue("one").enqueue("two", "three")
    assert [fake.invoke("x").content for _ in range(3)] == ["one", "two", "three"]


def test_empty_queue_raises_clear_error() -> None:
    fake = FakeChatModel(["only"])
    fake.invoke("a")
    with pytest.raises(FakeScriptError, match=r"call #2 found no scripted response left.*'b'"):
        fake.invoke("b")


def test_usage_metadata_is_reported_and_summed() -> None:
    fake = FakeChatModel(["abcdefgh", AIMessage("x", usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15})])
    first = fake.invoke("1234")
    assert first.usage_metadata == {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    second = fake.invoke("whatever")
    assert second.usage_metadata["total_tokens"] == 15
    assert fake.total_tokens == 18
    assert estimate_tokens("") == 0 and estimate_tokens("abcde") == 2


def test_structured_output_validates_dict_into_schema() -> None:
    fake = FakeChatModel([{"tool": "profile", "reason": "baseline first"}])
    out = fake.with_structured_output(Pick, method="function_calling").invoke("next?")
    assert out == Pick(tool="profile", reason="baseline first")
    call = fake.calls[0]
    assert call.structured == "Pick"
    assert call.tools[0]["function"]["name"] == "Pick"


def test_structured_output_invalid_dict_raises_validation_error() -> None:
    fake = FakeChatModel([{"tool": "nope", "reason": "x"}])
    with pytest.raises(ValidationError):
        fake.with_structured_output(Pick, method="function_calling").invoke("next?")


def test_structured_output_include_raw_reports_error_and_usage() -> None:
    fake = FakeChatModel([{"tool": "nope"}])
    out = fake.with_structured_output(Pick, method="function_calling", include_raw=True).invoke("next?")
    assert out["parsed"] is None
    assert isinstance(out["parsing_error"], ValidationError)
    assert out["raw"].tool_calls[0]["args"] == {"tool": "nope"}
    assert out["raw"].usage_metadata["total_tokens"] > 0


def test_structured_output_refuses_a_text_script() -> None:
    fake = FakeChatModel(["I think profile"])
    with pytest.raises(FakeScriptError, match="asked for structured output 'Pick'"):
        fake.with_structured_output(Pick).invoke("next?")


def test_structured_output_accepts_explicit_aimessage_without_call() -> None:
    fake = FakeChatModel([AIMessage("no tool call here")])
    out = fake.with_structured_output(Pick, include_raw=True).invoke("next?")
    assert out["parsed"] is None and out["parsing_error"] is None


def test_bind_tools_records_tools_and_dict_becomes_tool_call() -> None:
    fake = FakeChatModel([{"account_id": "ACC-1"}])
    reply = fake.bind_tools([profile]).invoke("go")
    assert reply.tool_calls[0]["name"] == "profile"
    assert reply.tool_calls[0]["args"] == {"account_id": "ACC-1"}
    assert [t["function"]["name"] for t in fake.bound_tools] == ["profile"]
    assert [t["function"]["name"] for t in fake.calls[0].tools] == ["profile"]


def test_bind_tools_with_several_tools_needs_name_and_args() -> None:
    fake = FakeChatModel([{"name": "exposure", "args": {"account_id": "ACC-2", "hops": 3}}, {"account_id": "ACC-3"}])
    bound = fake.bind_tools([profile, exposure], tool_choice="auto")
    reply = bound.invoke("go")
    assert reply.tool_calls[0]["name"] == "exposure" and reply.tool_calls[0]["args"]["hops"] == 3
    assert fake.calls[0].tool_choice == "auto"
    with pytest.raises(FakeScriptError, match="2 tools are bound"):
        bound.invoke("again")


def test_dict_without_tools_is_a_script_error() -> None:
    with pytest.raises(FakeScriptError):
        FakeChatModel([{"a": 1}]).invoke("x")


def test_aimessage_with_tool_calls_passes_through() -> None:
    msg = AIMessage("", tool_calls=[{"name": "profile", "args": {"account_id": "ACC-9"}, "id": "c1"}])
    reply = FakeChatModel([msg]).bind_tools([profile]).invoke("go")
    assert reply.tool_calls[0]["args"] == {"account_id": "ACC-9"}


def test_scripted_exception_is_raised() -> None:
    fake = FakeChatModel([httpx.ReadTimeout("slow"), "after"])
    with pytest.raises(httpx.ReadTimeout):
        fake.invoke("x")
    assert fake.invoke("y").content == "after"


def test_streaming_yields_chunks_that_add_up_with_usage() -> None:
    fake = FakeChatModel(["Escalate  to L2 now."])
    chunks = list(fake.stream("x"))
    assert len(chunks) > 3
    assert "".join(c.content for c in chunks) == "Escalate  to L2 now."
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.usage_metadata is not None and total.usage_metadata["output_tokens"] == 5


def test_streaming_tool_call_is_reassembled() -> None:
    fake = FakeChatModel([{"account_id": "ACC-7"}])
    chunks = list(fake.bind_tools([profile]).stream("x"))
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.tool_calls[0]["name"] == "profile"
    assert total.tool_calls[0]["args"] == {"account_id": "ACC-7"}


def test_async_invoke_and_stream() -> None:
    fake = FakeChatModel(["async hello", "streamed words"])

    async def run() -> tuple[str, str]:
        a = await fake.ainvoke("x")
        parts = [c.content async for c in fake.astream("y")]
        return str(a.content), "".join(str(p) for p in parts)

    assert asyncio.run(run()) == ("async hello", "streamed words")
    assert len(fake.calls) == 2
