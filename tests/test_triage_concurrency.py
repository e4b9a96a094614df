"""Against a model endpoint a triage worker runs a batch's cases at once, up to `llm_concurrency`:
a stub endpoint that answers slowly (with an error) sees several requests in flight, and every
alert still ends with one failed record naming the failure."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

from agent.triage import read_results, run_triage
from tools.settings import Settings


class SlowFailingEndpoint(http.server.ThreadingHTTPServer):
    """Answers every request after a pause with HTTP 500, counting the most requests in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.lock:
                    server.in_flight += 1
                    server.most = max(server.most, server.in_flight)
                time.sleep(0.5)
                with server.lock:
                    server.in_flight -= 1
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": {"message": "stub failure"}}')

            def log_message(self, *a: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture()
def home(agent_settings: Settings, tmp_path: Path) -> Settings:
    dest = tmp_path / "home"
    shutil.copytree(agent_settings.home, dest, ignore=shutil.ignore_patterns("cases", "audit.*", "triage"))
    return agent_settings.model_copy(update={"home": dest, "llm_concurrency": 4})


@pytest.mark.slow
def test_endpoint_cases_run_concurrently(home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.db import Database

    with Database.open(home) as db:
        ids = [a for (a,) in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id LIMIT 4").rows]
    which = tmp_path / "ids.txt"
    which.write_text("\n".join(ids) + "\n")
    server = SlowFailingEndpoint()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "stub")
        result = run_triage(home, "openai:stub-model", str(which), tmp_path / "out", 1, resume=False, fresh=False)
    finally:
        server.shutdown()
    records = read_results(tmp_path / "out" / "results.jsonl")
    assert sorted(r["alert_id"] for r in records) == sorted(ids) and result["new"] == 4
    assert all(r["status"] == "failed" and "ModelCallFailed" in r["error"] for r in records), records[0]["error"]
    assert server.most >= 2, "the cases waited on the endpoint one after another"
