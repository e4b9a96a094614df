"""`sleuth chat` in a real terminal (pexpect), with a scripted fake model (`--model fake:SCRIPT.json`):
a question answered with a tool call, /case and /approve, Ctrl-C during a slowly streamed answer,
/quit, and the same thread resumed by a second run; keys typed while an answer prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from agent.runner import Investigator
from tools.schema import ACCOUNT_AFFECTING_ACTIONS
from tools.settings import Settings

pexpect = pytest.importorskip("pexpect")

SLEUTH = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "sleuth"
PROMPT = "sleuth> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


@pytest.fixture(scope="module")
def sar_case(agent_settings: Settings, generated_dir: Path) -> dict[str, Any]:
    """A labelled SAR whose policy has an account-affecting action (so /case waits for approval)."""
    cases = sorted((json.loads(line) for line in (generated_dir / "cases.jsonl").read_text().splitlines()
                    if line.strip()), key=lambda c: c["alert_id"])
    with Investigator(agent_settings, "rules", record=False) as inv:
        for c in (c for c in cases if c["disposition"] == "sar"):
            report = inv.investigate(c["alert_id"])
            pending = [a for a in report.actions if a.action in ACCOUNT_AFFECTING_ACTIONS]
            if report.decision.disposition == "sar" and pending:
                return {"alert_id": c["alert_id"], "account": report.alert["account_id"],
                        "typology": report.decision.typology, "pending": pending[0].index,
                        "action": pending[0].action}
    raise AssertionError("no SAR with an account-affecting action in the sample")


def spawn(home: Path, script: Path, log: Path) -> Any:
    env = {**os.environ, "SLEUTH_HOME": str(home), "TERM": "dumb", "COLUMNS": "200", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1", "SLEUTH_ANALYST": "carol"}
    child = pexpect.spawn(str(SLEUTH), ["chat", "--model", f"fake:{script}", "--thread", "t1"], env=env,
                          encoding="utf-8", timeout=180, dimensions=(60, 200))
    child.logfile_read = open(log, "a", encoding="utf-8")  # noqa: SIM115 - closed with the child
    return child


def quit_(child: Any) -> str:
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.logfile_read.close()
    child.close()
    assert child.exitstatus == 0, child.exitstatus
    return clean(child.before)


@pytest.mark.slow
def test_chat_in_a_terminal(agent_settings: Settings, sar_case: dict[str, Any], tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(agent_settings.home, home, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "chat.sqlite"))
    acct, alert_id = sar_case["account"], sar_case["alert_id"]
    slow_words = " ".join(["slowly"] * 200)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"tool_calls": [{"name": "profile", "args": {"account_id": acct}}]},           # question: a tool call
        f"{acct} holds a KYC level account; see [E1].",                                   # ... then the answer
        "No further lookups needed.",                                                     # /case: investigate
        {"disposition": "sar", "typology": sar_case["typology"], "risk_score": 90,         # /case: assess
         "key_evidence_ids": ["E2"], "rationale": "Matches the playbook [E2]."},
        "",                                                                               # /case: narrative
        {"sleep": 0.2, "text": f"Here is a long answer: {slow_words}."},                  # streamed slowly
        "Still here [E1].",                                                               # after Ctrl-C
    ]))
    log = tmp_path / "terminal.log"
    start = time.monotonic()

    child = spawn(home, script, log)
    child.expect(PROMPT)
    child.sendline(f"Who is {acct}?")
    child.expect(r"-> \[E1\]")
    assert f"tool profile(account_id={acct})" in clean(child.before)
    child.expect(r"see \[E1\]\.")
    child.expect(PROMPT)

    child.sendline(f"/case {alert_id}")
    child.expect("wait for your approval")
    assert f"Case {alert_id}" in clean(child.before)
    child.expect(PROMPT)
    child.sendline(f"/approve {sar_case['pending']}")  # carol opened the case: four-eyes refuses, in one line
    child.expect(r"error: carol opened this case and cannot\s+also\s+approve")
    child.expect(PROMPT)

    child.sendline("Summarise the case")
    child.expect("Here is a long answer")
    time.sleep(0.5)
    child.sendintr()
    t0 = time.monotonic()
    child.expect(r"\(answer cancelled\)")
    assert time.monotonic() - t0 < 10, "Ctrl-C waited for the whole answer"
    assert slow_words not in clean(child.before)
    child.expect(PROMPT)  # the REPL is alive ...
    child.sendline("Are you still there?")
    child.expect(r"Still here \[E1\]\.")  # ... and the thread still answers
    child.expect(PROMPT)
    assert "bye" in quit_(child)

    audit = [json.loads(line) for line in (home / "audit.jsonl").read_text().splitlines()]
    assert [e for e in audit if e["event"] == "action_approved"] == []

    # Resume: a second run on the same thread sees the conversation (question, tool call, tool result,
    # answer; the cancelled question; the last question and its answer).
    child = spawn(home, script, log)
    child.expect(r"resumed thread with (\d+) messages; last question: Are you still there\?")
    assert int(child.match.group(1)) == 7
    child.expect(PROMPT)
    quit_(child)
    assert time.monotonic() - start < 170


def test_keys_typed_during_an_answer_are_not_echoed_among_its_lines(workspace_settings: Settings,
                                                                     tmp_path: Path) -> None:
    """A question typed while an answer streams shows once, whole, at the next prompt (it used to be echoed
    by the terminal in pieces among the answer's lines, then drawn again by the prompt)."""
    script = tmp_path / "script.json"
    slow = " ".join(["slowly"] * 10)
    script.write_text(json.dumps([{"sleep": 0.1, "text": f"The first clause shows at once. Then {slow}."}]))
    child = spawn(workspace_settings.home, script, tmp_path / "terminal.log")
    child.expect(PROMPT)
    child.sendline("Tell me slowly")
    child.expect("first clause")
    child.send("typed ahead")
    child.expect(PROMPT)
    assert "typed ahead" not in clean(child.before)
    child.expect("typed ahead")  # kept for the prompt, which draws it
    child.sendcontrol("u")
    quit_(child)
