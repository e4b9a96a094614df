"""ChatSession driven directly with the scripted fake model: questions answered with tools and cited
evidence (native and router styles), /case then /approve recorded with who and when, and a thread
resumed by a new session with its history, evidence and pending case."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from rich.console import Console

from agent.chat.commands import run_command
from agent.chat.session import ChatSession
from agent.llm.fake import FakeChatModel
from agent.runner import Investigator
from agent.store import CaseStore
from tools.errors import InputInvalid
from tools.schema import ACCOUNT_AFFECTING_ACTIONS
from tools.settings import Settings


@pytest.fixture(scope="module")
def sar_case(agent_settings: Settings, generated_dir: Path) -> dict[str, Any]:
    """A labelled SAR whose policy has an account-affecting action (so /case waits for approval)."""
    cases = sorted((json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines()
                    if line.strip()), key=lambda c: c["alert_id"])
    with Investigator(agent_settings, "rules", record=False) as inv:
        for c in cases:
            if c["disposition"] != "sar":
                continue
            report = inv.investigate(c["alert_id"])
            pending = [a.index for a in report.actions if a.action in ACCOUNT_AFFECTING_ACTIONS]
            if report.decision.disposition == "sar" and pending:
                return {"alert_id": c["alert_id"], "account": report.alert["account_id"],
                        "decision": report.decision, "pending": pending,
                        "actions": [a.action for a in report.actions]}
    raise AssertionError("no SAR with an account-affecting action in the sample")


@pytest.fixture
def settings(agent_settings: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(agent_settings.home, home, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "chat.sqlite"))
    shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "roles.toml", home / "roles.toml")
    return agent_settings.model_copy(update={"home": home, "analyst": "alice"})


def tool_call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def case_script(sar_case: dict[str, Any]) -> list[Any]:
    """What /case asks the model: investigate (native: no tool), assess, narrative (empty: template)."""
    d = sar_case["decision"]
    return ["No further lookups needed.",
            {"disposition": d.disposition, "typology": d.typology, "risk_score": 88,
             "key_evidence_ids": d.key_evidence_ids, "rationale": "Fan-like flows [E2]."},
            ""]


def ask(session: ChatSession, question: str) -> tuple[str, list[str], list[tuple[str, dict, str]]]:
    tokens: list[str] = []
    tools: list[tuple[str, dict, str]] = []
    answer = session.ask(question, on_token=tokens.append, on_tool=lambda n, a, ev: tools.append((n, a, ev.id)))
    return answer, tokens, tools


def console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=160, force_terminal=False), buf


def audit_events(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in settings.audit_log.read_text().splitlines()]


# --- questions -----------------------------------------------------------------------------------

def test_question_tool_call_answer_cites_evidence(settings: Settings, sar_case: dict[str, Any]) -> None:
    acct = sar_case["account"]
    fake = FakeChatModel([tool_call("profile", {"account_id": acct}, "c1"), f"{acct} is KYC level 2 [E1]."])
    session = ChatSession(settings, "t1", "fake", model=fake, style="native")
    try:
        answer, tokens, tools = ask(session, f"Who is {acct}?")
        assert tools == [("profile", {"account_id": acct}, "E1")]
        assert answer == f"{acct} is KYC level 2 [E1]." and "".join(tokens) == answer and len(tokens) > 1
        assert {t["function"]["name"] for t in fake.calls[0].tools} >= {"profile", "exposure", "sql"}
        fed = [m for m in fake.calls[1].messages if isinstance(m, ToolMessage)]
        assert len(fed) == 1 and fed[0].tool_call_id == "c1" and fed[0].text.startswith("[E1] profile(")
        state = session.history_state()
        assert [e["id"] for e in state["evidence"]] == ["E1"] and state["evidence"][0]["tool"] == "profile"
        assert [m.type for m in session.history()] == ["human", "ai", "tool", "ai"]
    finally:
        session.close()


def test_router_style_question(settings: Settings, sar_case: dict[str, Any]) -> None:
    """The small-model style: the model emits a plan under a JSON schema whose targets are the question's
    entities; the tools run in code and the answer is written from the evidence and checked."""
    acct = sar_case["account"]
    plan = {"calls": [{"tool": "exposure", "target": acct, "direction": "both", "hops": 2}]}
    fake = FakeChatModel([json.dumps(plan)])
    always = settings.model_copy(update={"chat_model_plan": "always"})
    session = ChatSession(always, "r1", "fake", model=fake, style="router")
    try:
        answer, tokens, tools = ask(session, f"Any risky exposure for {acct}?")
        assert tools == [("exposure", {"target": acct}, "E1")]
        assert "[E1]" in answer and "".join(tokens) == answer
        body = fake.calls[0].kwargs["extra_body"]
        schema = body["response_format"]["schema"]["properties"]["calls"]["items"]["properties"]
        assert schema["target"]["enum"] == [acct] and "exposure" in schema["tool"]["enum"]
        assert "<question>" in fake.calls[0].messages[-1].text  # the question is fenced for the model
        record = next(t for t in session.last_trace() if t.get("model_call") == "chat_plan")
        assert record["raw"] == json.dumps(plan) and record["plan_source"] == "model"
        assert record["prompt_version"] and record["plan"] == [{"tool": "exposure", "target": acct}]
    finally:
        session.close()


def test_bad_tool_arguments_do_not_end_the_chat(settings: Settings) -> None:
    fake = FakeChatModel([tool_call("profile", {"account": "ACC-1"}, "c1"), "Sorry, let me fix that."])
    session = ChatSession(settings, "t1", "fake", model=fake, style="native")
    try:
        answer, _, _ = ask(session, "profile someone")
        assert answer == "Sorry, let me fix that."
        fed = [m for m in fake.calls[1].messages if isinstance(m, ToolMessage)]
        assert "invalid arguments for profile" in fed[0].text
    finally:
        session.close()


def test_unreachable_model_is_a_clear_error(settings: Settings) -> None:
    import httpx

    from tools.errors import SleuthError

    fake = FakeChatModel([httpx.ConnectError("connection refused"), "Back again."])
    session = ChatSession(settings, "t1", "fake", model=fake, style="native")
    try:
        with pytest.raises(SleuthError, match="model call failed in chat agent: ConnectError"):
            ask(session, "hello?")
        assert ask(session, "hello again?")[0] == "Back again."  # the thread goes on
    finally:
        session.close()


def test_rules_backend_asks_for_an_entity_when_none_is_named(settings: Settings) -> None:
    session = ChatSession(settings, "t1", "rules")
    try:
        answer, _, tools = ask(session, "who is it?")
        assert "No tool was run" in answer and tools == []
    finally:
        session.close()


# --- cases and approvals -------------------------------------------------------------------------

def test_case_then_approve_records_who_and_when(settings: Settings, sar_case: dict[str, Any]) -> None:
    """alice opens the case and cannot approve its freeze (four-eyes); carol, an approver, can."""
    from agent.approvals import ApprovalRefused

    alert_id, index = sar_case["alert_id"], sar_case["pending"][0]
    session = ChatSession(settings, "t1", "fake", model=FakeChatModel(case_script(sar_case)), style="native")
    try:
        con, buf = console()
        assert run_command(session, f"/case {alert_id}", con)
        assert f"Case {alert_id}" in buf.getvalue() and "wait for your approval" in buf.getvalue()
        assert session.pending_case == alert_id
        stored = CaseStore(settings).load(alert_id)
        assert (stored.opened_by, stored.opened_by_source) == ("alice", "--as")
        assert [a.action for a in stored.actions] == sar_case["actions"]
        assert stored.actions[index - 1].status == "pending_approval"

        not_pending = next(i for i in range(1, len(stored.actions) + 1) if i not in sar_case["pending"])
        with pytest.raises(InputInvalid, match="not pending"):
            run_command(session, f"/approve {not_pending}", con)
        with pytest.raises(ApprovalRefused, match=f"alice opened this case and cannot also approve or reject its "
                                                  f"{sar_case['actions'][index - 1]}"):
            run_command(session, f"/approve {index}", con)
        assert session.pending_case == alert_id  # the refusal left the case waiting
    finally:
        session.close()

    before = datetime.now(UTC).replace(microsecond=0)
    carol = ChatSession(settings.model_copy(update={"analyst": "carol"}), "t1", "fake", model=FakeChatModel([]),
                        style="native")
    try:
        assert carol.pending_case == alert_id
        con, buf = console()
        run_command(carol, f"/approve {index}", con)
        assert f"{index}. {sar_case['actions'][index - 1]}: approved by carol at" in buf.getvalue()
    finally:
        carol.close()
    approved = [e for e in audit_events(settings) if e["event"] == "action_approved"]
    assert len(approved) == 1
    assert (approved[0]["case_id"], approved[0]["index"], approved[0]["by"]) == (alert_id, index, "carol")
    assert (approved[0]["opened_by"], approved[0]["by_source"]) == ("alice", "--as")
    assert approved[0]["action"] == sar_case["actions"][index - 1]
    action = CaseStore(settings).load(alert_id).actions[index - 1]
    assert action.status == "approved" and action.decided_by == "carol"
    assert datetime.fromisoformat(action.decided_at) >= before
    others = [a for a in CaseStore(settings).load(alert_id).actions if a.index != index]
    assert all(a.decided_by is None for a in others)


def test_chat_approver_needs_a_permitting_role(settings: Settings, sar_case: dict[str, Any]) -> None:
    """bob (analyst, reviewer) may not approve a freeze in chat; without a roles file nobody may."""
    from agent.approvals import ApprovalRefused

    alert_id, index = sar_case["alert_id"], sar_case["pending"][0]
    action = sar_case["actions"][index - 1]
    session = ChatSession(settings, "t1", "fake", model=FakeChatModel(case_script(sar_case)), style="native")
    try:
        run_command(session, f"/case {alert_id}", console()[0])
    finally:
        session.close()
    bob = ChatSession(settings.model_copy(update={"analyst": "bob"}), "t1", "fake", model=FakeChatModel([]),
                      style="native")
    try:
        if action not in ("restrict_p2p", "block_address"):
            with pytest.raises(ApprovalRefused, match=f"bob .* may not approve or reject {action}"):
                run_command(bob, f"/approve {index}", console()[0])
        (settings.home / "roles.toml").unlink()
        with pytest.raises(ApprovalRefused, match="no roles file at"):
            run_command(bob, f"/approve {index}", console()[0])
    finally:
        bob.close()
    assert not [e for e in audit_events(settings) if e["event"] in ("action_approved", "action_rejected")]


def test_approve_without_a_case_is_a_clear_error(settings: Settings) -> None:
    session = ChatSession(settings, "t1", "rules")
    try:
        with pytest.raises(InputInvalid, match="no case is waiting"):
            run_command(session, "/approve 1", console()[0])
    finally:
        session.close()


# --- resuming a thread ---------------------------------------------------------------------------

def test_resumed_thread_sees_history_evidence_and_pending_case(settings: Settings, sar_case: dict[str, Any]) -> None:
    acct, alert_id = sar_case["account"], sar_case["alert_id"]
    fake = FakeChatModel([tool_call("profile", {"account_id": acct}, "c1"), f"{acct} is KYC level 2 [E1].",
                          *case_script(sar_case)])
    first = ChatSession(settings, "t1", "fake", model=fake, style="native")
    try:
        ask(first, f"Who is {acct}?")
        run_command(first, f"/case {alert_id}", console()[0])
        assert first.pending_case == alert_id
    finally:
        first.close()

    fake2 = FakeChatModel([tool_call("exposure", {"account_id": acct}, "c2"), "Nothing risky [E2]."])
    second = ChatSession(settings.model_copy(update={"analyst": "carol"}), "t1", "fake", model=fake2, style="native")
    try:
        history = second.history()
        assert [m.type for m in history] == ["human", "ai", "tool", "ai"]
        assert history[0].content == f"Who is {acct}?"
        assert second.pending_case == alert_id
        assert second.focus()["alert_id"] == alert_id  # /case made the alert the focus
        assert [e.id for e in second.ledger.all()] == ["E1"]
        _, _, tools = ask(second, "And its exposure?")
        assert tools == [("exposure", {"account_id": acct}, "E2")]  # ids continue after a resume
        # The earlier turns went to the model as context.
        assert any(f"Who is {acct}?" == m.text for m in fake2.calls[0].messages)
        for n, index in enumerate(sar_case["pending"], start=1):
            actions = second.decide(index, approve=False)
            assert actions[index - 1]["status"] == "rejected" and actions[index - 1]["decided_by"] == "carol"
            assert (second.pending_case is None) == (n == len(sar_case["pending"]))
    finally:
        second.close()
    rejected = [e for e in audit_events(settings) if e["event"] == "action_rejected"]
    assert [(e["case_id"], e["index"], e["by"]) for e in rejected] == [(alert_id, i, "carol") for i in sar_case["pending"]]
    stored = CaseStore(settings).load(alert_id)
    assert [a.status for a in stored.actions if a.index in sar_case["pending"]] == ["rejected"] * len(sar_case["pending"])

    other = ChatSession(settings, "t2", "rules")
    try:
        assert other.history() == [] and other.pending_case is None and len(other.ledger) == 0
    finally:
        other.close()
