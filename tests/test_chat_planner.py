"""Free questions in chat: entity extraction, the rules plan and the model's constrained plan under it, the
answer composed from the evidence, and the check every answer passes (uncited and negative claims, fences).
The model is the scripted fake; the workspace is the generated test sample (ids are looked up, not assumed)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.chat.catalog import Call
from agent.chat.check import check_answer
from agent.chat.entities import extract
from agent.chat.planner import merge, rules_plan, validate_call
from agent.chat.session import ChatSession
from agent.llm.fake import FakeChatModel
from tools.db import Database
from tools.evidence import EvidenceLedger
from tools.screening import screen
from tools.settings import Settings

END = dt.datetime(2026, 10, 31)


@pytest.fixture(scope="module")
def db(workspace_settings: Settings) -> Iterator[Database]:
    d = Database.open(workspace_settings)
    yield d
    d.close()


@pytest.fixture(scope="module")
def sample(db: Database) -> dict[str, Any]:
    """Entities of the generated sample, found by SQL."""
    alert = db.execute("SELECT alert_id, account_id FROM alerts ORDER BY alert_id LIMIT 1").rows[0]
    txn = db.scalar("SELECT txn_id FROM transactions ORDER BY txn_id LIMIT 1")
    listed = db.scalar("SELECT address FROM addresses WHERE category = 'sanctioned' ORDER BY address LIMIT 1")
    no_alert = db.scalar("SELECT account_id FROM accounts WHERE account_id NOT IN (SELECT account_id FROM alerts) "
                         "ORDER BY account_id LIMIT 1")
    return {"alert": alert[0], "account": alert[1], "txn": txn, "listed": listed, "no_alert": no_alert}


def session(settings: Settings, tmp_path: Path, name: str = "rules", model: Any = None,
            style: str | None = None) -> ChatSession:
    return ChatSession(settings, "t", name, model=model, style=style, chat_db=tmp_path / "chat.sqlite")


def ask(s: ChatSession, question: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    tools: list[tuple[str, str]] = []
    starts: list[str] = []
    answer = s.ask(question, on_token=lambda t: None, on_tool=lambda n, a, ev: tools.append((n, ev.id)),
                   on_tool_start=lambda n, a: starts.append(n))
    return answer, tools, starts


# --- extraction ------------------------------------------------------------------------------------

def test_extraction_checks_ids_against_the_workspace(db: Database, sample: dict[str, Any]) -> None:
    q = (f"compare {sample['account'].lower()} with alert {sample['alert']} and {sample['txn']}; also ACC-999999 "
         f"and {sample['listed']}, three hops in the last 2 weeks, money sent out over $5k")
    slots = extract(db, q, END)
    assert slots.accounts == [sample["account"]]  # spelled as stored
    assert slots.alerts == [sample["alert"]] and slots.txns == [sample["txn"]]
    assert slots.unknown_ids == ["ACC-999999"] and slots.addresses == [sample["listed"]]
    assert slots.hops == 3 and slots.period and slots.period.days == 14
    assert slots.direction == "out" and slots.min_usd == 5000
    short = sample["account"].split("-")[0] + "-" + str(int(sample["account"].split("-")[1]))  # ACC-4 for ACC-000004
    assert extract(db, f"who is {short}?", END).accounts == [sample["account"]]


@pytest.mark.parametrize(("text", "label"), [
    ("in March", "March 2026"), ("during nov 2025", "November 2025"), ("in 2026", "2026"),
    ("between 2026-05-01 and 2026-06-30", "2026-05-01 to 2026-06-30"), ("since 2026-06-01", "since 2026-06-01"),
    ("over the past 30 days", "the 30 days before the reference time"), ("all time", "all time")])
def test_periods(db: Database, text: str, label: str) -> None:
    period = extract(db, f"payments of ACC-1 {text}", END).period
    assert period is not None and period.label == label


@pytest.mark.parametrize(("question", "direction"), [
    ("who received money from X?", "out"), ("who sent money to X?", "in"), ("who funded X", "in"),
    ("where did the funds of X go?", "out"), ("money in and out of X", "both"), ("profile of X", None)])
def test_direction_words(db: Database, question: str, direction: str | None) -> None:
    assert extract(db, question, END).direction == direction


# --- planning --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "tools"), [
    ("who funded {a} last month, and is any of its counterparties sanctioned?", ["counterparties",
                                                                              "screen_counterparties"]),
    ("where did the money of {a} end up?", ["counterparties"]),
    ("does {a} share a phone or IP address with other customers?", ["clusters"]),
    ("any prior alerts for {a}?", ["alerts"]),
    ("chargebacks on {a}'s P2P trades", ["p2p_orders"]),
    ("biggest deposit into {a} in 2026", ["payments"]),
    ("follow the money out of {a} four levels deep", ["trace"]),
    ("is {a} exposed to tornado cash?", ["exposure"]),
    ("KYC level of {a}", ["profile"]),
    ("{a}", ["profile"]),
])
def test_rules_plan_intents(db: Database, sample: dict[str, Any], question: str, tools: list[str]) -> None:
    q = question.format(a=sample["account"])
    plan = rules_plan(q, extract(db, q, END), {})
    assert [c.tool for c in plan.calls] == tools and all(c.target == sample["account"] for c in plan.calls)


def test_plan_uses_the_subject_for_follow_ups_and_screens_addresses(db: Database, sample: dict[str, Any]) -> None:
    plan = rules_plan("and its counterparties?", extract(db, "and its counterparties?", END),
                      {"account": sample["account"]})
    assert plan.calls == [Call("counterparties", sample["account"], "both")]
    q = f"is {sample['listed']} risky?"
    assert rules_plan(q, extract(db, q, END), {}).calls == [Call("screen", sample["listed"])]
    q = "show me its last 5 transactions"
    assert rules_plan(q, extract(db, q, END), {"account": sample["account"]}).calls == [
        Call("payments", sample["account"], "both", None, "recent")]
    q = f"which accounts paid {sample['listed']}?"  # an address's senders: its own flows, one hop back
    assert rules_plan(q, extract(db, q, END), {}).calls == [Call("trace", sample["listed"], "in", 1)]
    q = "follow it for 3 hops"
    assert rules_plan(q, extract(db, q, END), {"account": sample["account"]}).calls[0].hops == 3


def test_model_calls_are_validated_and_kept_under_the_rules_floor(db: Database, sample: dict[str, Any]) -> None:
    acct = sample["account"]
    q = f"any prior alerts for {acct}, and who sent it money?"
    slots = extract(db, q, END)
    assert validate_call({"tool": "profile", "target": "ACC-000000"}, slots, {})[0] is None  # not offered
    assert validate_call({"tool": "screen", "target": acct}, slots, {})[0] is None  # wrong kind
    assert validate_call({"tool": "nope", "target": acct}, slots, {})[0] is None
    call, _ = validate_call({"tool": "trace", "target": acct.lower(), "direction": "sideways", "hops": 9}, slots, {})
    assert call == Call("trace", acct, "in", 4)
    floor = rules_plan(q, slots, {})
    calls, changes = merge([Call("profile", acct)], floor, slots)
    assert [c.tool for c in calls] == ["alerts", "counterparties", "profile"]
    assert len(changes) == 2 and all("model left it out" in c for c in changes)


# --- the answer check --------------------------------------------------------------------------------

def test_check_removes_invented_numbers_false_negatives_and_fences(db: Database, sample: dict[str, Any]) -> None:
    ledger = EvidenceLedger()
    ev = screen(db, ledger, [sample["listed"]])
    assert ev.row_count > 0
    addr = sample["listed"]
    text = (f"{addr} is not listed in our blacklist [E1].\nThe largest payment was $1234567.\n"
            f"The profile is as follows: <untrusted_data>[E1]</untrusted_data>\n{addr} is on a list [E1].")
    checked = check_answer(text, [ev], {ev.id: "screen"})
    assert "not listed" not in checked.text and "1234567" not in checked.text and "untrusted" not in checked.text
    assert f"{addr} is on a list [E1]." in checked.text and len(checked.removed) == 2
    clean = screen(db, ledger, ["bc1qnotalistedaddressatall0000000000000"])
    ok = check_answer(f"bc1qnotalistedaddressatall0000000000000 is not on any list: screen ran and found no hit "
                      f"[{clean.id}].", [clean])
    assert ok.removed == [] and ok.negative_claims == 1
    unnamed = check_answer(f"Nothing found for it [{clean.id}].", [clean])
    assert unnamed.text == "" and "named tool" in unnamed.removed[0]
    failed = ledger.record("alerts", {"account_id": "ACC-1"}, error="boom")
    assert check_answer(f"No alerts found: alerts ran for ACC-1 [{failed.id}].", [failed]).text == ""


# --- the whole turn -----------------------------------------------------------------------------------

def test_rules_backend_answers_with_cited_evidence_and_negative_findings(
        workspace_settings: Settings, tmp_path: Path, sample: dict[str, Any]) -> None:
    s = session(workspace_settings, tmp_path)
    try:
        answer, tools, starts = ask(s, f"any alerts on {sample['account']}?")
        assert tools == [("alerts", "E1")] and starts == ["alerts"]
        assert sample["alert"] in answer and "[E1]" in answer
        answer, tools, _ = ask(s, f"has {sample['no_alert']} ever been alerted?")
        assert tools == [("alerts", "E2")] and "No alert" in answer and "alerts ran" in answer
        answer, tools, _ = ask(s, "and its counterparties?")  # the subject carries over
        assert tools == [("counterparties", "E3")] and sample["no_alert"] in answer
        record = s.last_trace()[0]
        assert record["turn"] == "chat_plan" and record["plan_source"] == "rules" and "model_call" not in record
        answer, tools, _ = ask(s, "any alerts on ACC-999999999?")  # not swapped for the subject
        assert tools == [] and "ACC-999999999 is not an account, alert or transaction id" in answer
    finally:
        s.close()


def test_model_plan_is_constrained_deduplicated_and_traced(
        workspace_settings: Settings, tmp_path: Path, sample: dict[str, Any]) -> None:
    acct = sample["account"]
    settings = workspace_settings.model_copy(update={"chat_model_plan": "always"})
    twice = {"calls": [{"tool": "exposure", "target": acct, "direction": "both", "hops": 2}] * 2
             + [{"tool": "alerts", "target": acct, "direction": "both", "hops": 2}]}
    fake = FakeChatModel([json.dumps(twice), "not json at all"])
    s = session(settings, tmp_path, "fake", fake, "router")
    try:
        _, tools, _ = ask(s, f"what about {acct}?")
        assert [t for t, _ in tools] == ["exposure", "alerts"]  # the repeated call ran once
        plan = s.last_trace()[0]
        assert plan["plan_source"] == "model" and plan["raw"] == json.dumps(twice)
        assert plan["prompt_version"] and "tokens_in" in plan
        first_system = fake.calls[0].messages[0].content
        _, tools, _ = ask(s, f"what about {acct}?")  # invalid JSON: the rules plan answers
        assert [t for t, _ in tools] == ["profile"]
        plan = s.last_trace()[0]
        assert plan["plan_source"] == "rules (model plan invalid)" and plan["errors"]
        assert fake.calls[1].messages[0].content == first_system  # byte-identical prefix for the cache
    finally:
        s.close()


def test_fallback_mode_asks_the_model_only_for_unrecognised_wording(
        workspace_settings: Settings, tmp_path: Path, sample: dict[str, Any]) -> None:
    acct = sample["account"]
    fake = FakeChatModel([json.dumps({"calls": [{"tool": "clusters", "target": acct, "direction": "both",
                                                  "hops": 2}]})])
    s = session(workspace_settings, tmp_path, "fake", fake, "router")
    try:
        _, tools, _ = ask(s, f"any alerts on {acct}?")
        assert [t for t, _ in tools] == ["alerts"] and not fake.calls
        _, tools, _ = ask(s, f"hmm, {acct}?")
        assert [t for t, _ in tools] == ["clusters"] and len(fake.calls) == 1
    finally:
        s.close()


def test_the_plan_time_limit_holds_inside_the_streaming_graph(
        workspace_settings: Settings, tmp_path: Path, sample: dict[str, Any]) -> None:
    """A slow endpoint that would stream a chunk every 0.2 s: the plan call is not streamed, so the time limit
    bounds the whole call and the rules plan answers (a streamed call would only time out between chunks)."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from agent.llm.models import local_chat

    plan = json.dumps({"calls": [{"tool": "alerts", "target": sample["account"]}]})

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            if body.get("stream"):
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in [plan[i:i + 8] for i in range(0, len(plan), 8)]:
                    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.2)
                self.wfile.write(b"data: [DONE]\n\n")
                return
            time.sleep(3)
            out = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": plan}, "finish_reason": "stop"}]}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            try:
                self.wfile.write(out)
            except BrokenPipeError:
                pass  # the client gave up at its time limit, as it should

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = workspace_settings.model_copy(update={"chat_model_plan": "always", "chat_plan_timeout_s": 1.0})
        model = local_chat(f"http://127.0.0.1:{server.server_port}/v1", 30, 50)
        s = session(settings, tmp_path, "local", model, "router")
        try:
            _, tools, _ = ask(s, f"any alerts on {sample['account']}?")
            record = s.last_trace()[0]
            assert "Timeout" in record["errors"][0] and record["plan_source"] == "rules"
            assert [t for t, _ in tools] == ["alerts"]
            _, tools, _ = ask(s, f"any alerts on {sample['account']}?")  # the busy server is not asked again
            record = s.last_trace()[0]
            assert "model_call" not in record and "model not asked" in record["floor_changes"][0]
            assert [t for t, _ in tools] == ["alerts"]
        finally:
            s.close()
    finally:
        server.shutdown()
