"""`sleuth chat --model local` in a real terminal: the bundled model plans a free question under a JSON schema,
a real tool runs (its start and end shown with the evidence id), and the answer cites that evidence.

Slow and opt-in like tests/test_local_model.py (it starts the 1.1 GB model on 2 cores); skipped when
llama-cpp-python or the model parts are missing. SLEUTH_CHAT_MODEL_PLAN=always makes the model plan even a
question the rules planner recognises, so the model's part is exercised; the trace must show its call.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from test_chat_terminal import ANSI, PROMPT, SLEUTH

from agent.llm.bundled import model_available
from agent.llm.server import llama_cpp_installed
from tools.db import Database
from tools.settings import Settings

pexpect = pytest.importorskip("pexpect")
pytestmark = [pytest.mark.local_model, pytest.mark.slow, pytest.mark.timeout(1200)]


def test_local_model_answers_a_question_with_a_real_tool_call(agent_settings: Settings, tmp_path: Path) -> None:
    if not llama_cpp_installed() or not model_available():
        pytest.skip("llama-cpp-python[server] or the bundled model parts are not installed")
    home = tmp_path / "home"
    shutil.copytree(agent_settings.home, home, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "chat.sqlite"))
    with Database.open(agent_settings) as db:
        acct = db.scalar("SELECT account_id FROM alerts ORDER BY alert_id LIMIT 1")
    env = {**os.environ, "SLEUTH_HOME": str(home), "TERM": "dumb", "COLUMNS": "200", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1", "SLEUTH_CHAT_MODEL_PLAN": "always", "SLEUTH_CHAT_PLAN_TIMEOUT_S": "900",
           "SLEUTH_LLM_TIMEOUT_S": "900"}
    env.pop("SLEUTH_LOCAL_BASE_URL", None)
    child = pexpect.spawn(str(SLEUTH), ["chat", "--model", "local", "--thread", "loc"], env=env, encoding="utf-8",
                          timeout=1000, dimensions=(60, 200))
    child.logfile_read = open(tmp_path / "terminal.log", "a", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        child.expect(PROMPT)
        before = ANSI.sub("", child.before)
        if "(router)" not in before:
            pytest.skip(f"the local model did not start: {before[-300:]}")
        child.sendline(f"who sent money to {acct}?")
        child.expect(r"tool counterparties done -> \[(E\d+)\]")
        cited = child.match.group(1)
        child.expect(r"answer: ")
        child.expect(PROMPT)
        answer = ANSI.sub("", child.before).replace("\r", "")
        assert f"[{cited}]" in answer and acct in answer
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.logfile_read.close()
        child.close()
    assert child.exitstatus == 0
    with sqlite3.connect(home / "chat.sqlite") as conn:  # the model's plan is in the thread's trace
        blobs = b"".join(r[0] for r in conn.execute("SELECT checkpoint FROM checkpoints") if r[0])
    assert b"chat_plan" in blobs and b"prompt_version" in blobs
