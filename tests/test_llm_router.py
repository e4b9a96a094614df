"""The constrained next-step router, driven by the scripted fake model."""

from __future__ import annotations

import typing
from typing import Literal

import httpx
import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from agent.llm.call import ModelCallFailed
from agent.llm.fake import FakeChatModel
from agent.llm.router import (
    DONE,
    StepOption,
    build_step_schema,
    choose_next,
    render_options,
    with_done,
)


class AccountArg(BaseModel):
    account_id: str = Field(description="Account id, e.g. ACC-000123")


class TraceArgs(AccountArg):
    direction: Literal["in", "out", "both"] = Field("out", description="in, out or both")
    hops: int = Field(2, ge=1, le=4, description="hops to follow, 1-4")


OPTIONS = [
    StepOption("profile", "KYC and activity baseline of an account", AccountArg),
    StepOption("exposure", "paths to sanctioned or mixer addresses", AccountArg),
    StepOption("trace", "follow the funds", TraceArgs),
]
CONTEXT = "Alert ALT-00012 on ACC-000123: 6 cash deposits between 9,000 and 9,990 USD in 9 days."


def test_schema_is_flat_with_literal_tool_and_optional_args() -> None:
    schema = build_step_schema(with_done(OPTIONS))
    fields = schema.model_fields
    assert list(fields) == ["tool", "account_id", "direction", "hops", "reason"]
    assert typing.get_args(fields["tool"].annotation) == ("profile", "exposure", "trace", "done")
    assert fields["account_id"].default is None and not fields["account_id"].is_required()
    assert fields["reason"].is_required()


def test_conflicting_argument_types_are_rejected() -> None:
    class Other(BaseModel):
        account_id: int

    with pytest.raises(ValueError, match="account_id"):
        build_step_schema([*OPTIONS, StepOption("odd", "x", Other)])


def test_valid_pick() -> None:
    fake = FakeChatModel([{"tool": "profile", "account_id": "ACC-000123", "reason": "baseline first"}])
    choice = choose_next(fake, "You investigate AML alerts.", CONTEXT, OPTIONS)
    assert choice.valid and choice.tool == "profile"
    assert choice.args == {"account_id": "ACC-000123"}
    assert choice.reason == "baseline first"
    assert choice.attempts == 1 and choice.tokens == fake.total_tokens > 0
    assert choice.raw is not None and choice.raw.tool_calls
    prompt = fake.calls[0].text
    assert "- profile(account_id):" in prompt and "- done():" in prompt and "ALT-00012" in prompt


def test_defaults_of_the_option_model_are_filled() -> None:
    fake = FakeChatModel([{"tool": "trace", "account_id": "ACC-1", "reason": "where did it go"}])
    choice = choose_next(fake, "sys", CONTEXT, OPTIONS)
    assert choice.args == {"account_id": "ACC-1", "direction": "out", "hops": 2}


def test_arguments_of_other_options_are_dropped() -> None:
    fake = FakeChatModel([{"tool": "profile", "account_id": "ACC-1", "hops": 3, "reason": "r"}])
    assert choose_next(fake, "sys", CONTEXT, OPTIONS).args == {"account_id": "ACC-1"}


def test_invalid_then_valid_retries_with_the_error_as_user_text() -> None:
    fake = FakeChatModel([
        {"tool": "counterparties", "account_id": "ACC-000123", "reason": "x"},  # not an option
        {"tool": "exposure", "account_id": "ACC-000123", "reason": "check mixers"},
    ])
    choice = choose_next(fake, "sys", CONTEXT, OPTIONS)
    assert choice.valid and choice.tool == "exposure" and choice.attempts == 2
    assert len(choice.errors) == 1 and "tool" in choice.errors[0]
    assert choice.tokens == fake.total_tokens
    retry = fake.calls[1].messages
    assert [m.type for m in retry] == ["system", "human", "human"]
    assert "previous answer was invalid" in retry[-1].text and "counterparties" in retry[-1].text


def test_missing_argument_is_repaired_with_the_options_own_schema() -> None:
    fake = FakeChatModel([
        {"tool": "profile", "account_id": None, "reason": "baseline"},
        {"account_id": "ACC-000123"},
    ])
    choice = choose_next(fake, "sys", CONTEXT, OPTIONS)
    assert choice.valid and choice.tool == "profile" and choice.attempts == 2
    assert choice.args == {"account_id": "ACC-000123"} and choice.reason == "baseline"
    assert "account_id" in choice.errors[0]
    repair = fake.calls[1]
    assert repair.structured == "profile_arguments"
    assert repair.tools[0]["function"]["parameters"]["required"] == ["account_id"]
    assert "You chose profile" in repair.messages[-1].text
    assert choice.tokens == fake.total_tokens


def test_failed_repair_gives_done_marked_invalid() -> None:
    fake = FakeChatModel([
        {"tool": "trace", "account_id": "ACC-2", "hops": 9, "reason": "far"},  # hops > 4
        {"account_id": "ACC-2", "hops": 7},
    ])
    choice = choose_next(fake, "sys", CONTEXT, OPTIONS)
    assert not choice.valid and choice.tool == DONE and choice.args == {} and choice.attempts == 2
    assert all("hops" in e for e in choice.errors) and choice.error == choice.errors[-1]


def test_more_retries_can_be_allowed() -> None:
    fake = FakeChatModel([AIMessage("hmm"), AIMessage("still no call"), {"tool": "done", "reason": "ok"}])
    assert choose_next(fake, "sys", CONTEXT, OPTIONS, retries=2).attempts == 3


def test_json_schema_forces_every_key_and_caps_the_reason() -> None:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    params = convert_to_openai_tool(build_step_schema(with_done(OPTIONS)))["function"]["parameters"]
    assert params["required"] == ["tool", "account_id", "direction", "hops", "reason"]
    assert params["properties"]["reason"]["maxLength"] == 160
    assert build_step_schema(OPTIONS).model_validate({"tool": "profile", "reason": "x"}).account_id is None


def test_no_tool_call_counts_as_invalid() -> None:
    fake = FakeChatModel([AIMessage("I would look at the profile."), {"tool": "done", "reason": "enough"}])
    choice = choose_next(fake, "sys", CONTEXT, OPTIONS)
    assert choice.valid and choice.tool == DONE and choice.attempts == 2
    assert "no NextStep call" in choice.errors[0]


def test_done_is_always_offered_and_chosen() -> None:
    fake = FakeChatModel([{"tool": "done", "reason": "evidence is sufficient"}])
    choice = choose_next(fake, "sys", CONTEXT, OPTIONS)
    assert choice.valid and choice.tool == DONE and choice.args == {}
    assert "done" in render_options(with_done(OPTIONS))
    assert len(with_done(with_done(OPTIONS))) == len(OPTIONS) + 1


def test_transport_error_becomes_model_call_failed() -> None:
    fake = FakeChatModel([httpx.ConnectError("refused")])
    with pytest.raises(ModelCallFailed, match="ConnectError"):
        choose_next(fake, "sys", CONTEXT, OPTIONS)
