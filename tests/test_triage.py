"""Batch triage: one record per alert with 1 or 2 workers, resume after a torn partial run, and a
`kill -9` test of the console script (slow): killed ten times, resumed each time, it ends with
exactly one record per alert and the dispositions of an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.triage import RESULTS, read_results, run_triage
from tests.kill_runs import finish, run_groups
from tools.errors import InputInvalid
from tools.settings import Settings

SLEUTH = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "sleuth"


def all_alerts(settings: Settings) -> list[str]:
    from tools.db import Database

    with Database.open(settings) as db:
        return [a for (a,) in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id").rows]


def by_alert(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    counts = Counter(r["alert_id"] for r in records)
    assert all(n == 1 for n in counts.values()), [a for a, n in counts.items() if n > 1]
    return {r["alert_id"]: r for r in records}


def outcome(records: list[dict[str, Any]]) -> dict[str, tuple[str, str, list[str]]]:
    return {r["alert_id"]: (r["disposition"], r["typology"], r["actions"]) for r in records}


@pytest.fixture(scope="module")
def home(agent_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the workspace (triage records every case in its case store)."""
    dest = tmp_path_factory.mktemp("triage") / "home"
    shutil.copytree(agent_settings.home, dest)
    return agent_settings.model_copy(update={"home": dest})


@pytest.fixture(scope="module")
def reference(home: Settings, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """An uninterrupted run with two workers."""
    out = tmp_path_factory.mktemp("triage-ref")
    seen: list[tuple[int, int]] = []
    result = run_triage(home, "rules", "all", out, 2, resume=False, fresh=False,
                        on_result=lambda rec, done, total: seen.append((done, total)))
    assert result["new"] == len(result["records"]) and result["skipped"] == 0
    assert [d for d, _ in seen] == list(range(1, len(seen) + 1)) and {t for _, t in seen} == {len(seen)}
    return result["records"]


def test_two_workers_one_record_per_alert(home: Settings, reference: list[dict[str, Any]]) -> None:
    records = by_alert(reference)
    assert sorted(records) == all_alerts(home)
    assert all(r["status"] == "ok" and r["model"] == "rules" for r in reference)
    assert {r["disposition"] for r in reference} <= {"close", "escalate", "sar"}
    from agent.store import CaseStore

    assert set(CaseStore(home).ids()) >= set(records)


def test_one_worker_matches_two(home: Settings, reference: list[dict[str, Any]], tmp_path: Path) -> None:
    result = run_triage(home, "rules", "all", tmp_path, 1, resume=False, fresh=False)
    records = by_alert(result["records"])
    assert sorted(records) == all_alerts(home)
    assert outcome(result["records"]) == outcome(reference)
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "results.parquet").num_rows == len(records)


def test_existing_results_need_resume_or_fresh(home: Settings, reference: list[dict[str, Any]],
                                               tmp_path: Path) -> None:
    (tmp_path / RESULTS).write_text(json.dumps(reference[0]) + "\n")
    with pytest.raises(InputInvalid, match="--resume"):
        run_triage(home, "rules", "all", tmp_path, 1, resume=False, fresh=False)


def test_resume_after_a_torn_partial_run(home: Settings, reference: list[dict[str, Any]], tmp_path: Path) -> None:
    """Half the backlog done, then a duplicate, a failure and a line cut mid-write: resume finishes
    the rest, retries the failure, and leaves exactly one record per alert."""
    done = reference[: len(reference) // 2]
    failed = dict(reference[len(done)], status="failed", disposition=None, error="unexpected boom")
    torn = json.dumps(reference[len(done) + 1])
    lines = [json.dumps(r) + "\n" for r in done] + [json.dumps(done[0]) + "\n", json.dumps(failed) + "\n"]
    (tmp_path / RESULTS).write_text("".join(lines) + torn[: len(torn) // 2])
    assert len(read_results(tmp_path / RESULTS)) == len(done) + 2  # the torn line is not a record

    result = run_triage(home, "rules", "all", tmp_path, 1, resume=True, fresh=False)
    assert result["skipped"] == len(done)
    assert result["new"] == len(reference) - len(done)
    records = by_alert(read_results(tmp_path / RESULTS))
    assert sorted(records) == all_alerts(home)
    assert all(r["status"] == "ok" for r in records.values())
    assert outcome(list(records.values())) == outcome(reference)
    assert (tmp_path / RESULTS).read_text().endswith("\n")


def test_fresh_starts_over(home: Settings, reference: list[dict[str, Any]], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(r["alert_id"] for r in reference[:3]) + "\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / RESULTS).write_text(json.dumps(reference[5]) + "\n")
    result = run_triage(home, "rules", str(ids), tmp_path / "out", 1, resume=False, fresh=True)
    assert sorted(r["alert_id"] for r in result["records"]) == sorted(r["alert_id"] for r in reference[:3])


# --- kill -9 ---------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(x) for x in out.split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def count_records(path: Path) -> int:
    return len(read_results(path))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_9_and_resume(home: Settings, reference: list[dict[str, Any]], tmp_path: Path) -> None:
    ws = tmp_path / "home"
    shutil.copytree(home.home, ws, ignore=shutil.ignore_patterns("cases", "audit.jsonl", "triage"))
    out = tmp_path / "out"
    results = out / RESULTS
    env = {**os.environ, "SLEUTH_HOME": str(ws), "SLEUTH_MODEL": "rules"}
    rng = random.Random(20240601)
    kills_mid_run = 0
    with run_groups() as start:
        for i in range(10):
            cmd = [str(SLEUTH), "triage", "--alerts", "all", "--workers", "2", "--out", str(out)]
            if i:
                cmd.append("--resume")
            before = count_records(results)
            proc = start(cmd, env)
            # Each restart pays the workers' start-up (imports, embedding model: ~10 s on 2 idle cores), so
            # six kills land early (start-up, compaction, pool spawn) and four after fresh progress.
            if i not in (1, 3, 5, 7):
                deadline = time.monotonic() + rng.uniform(0.2, 3.0)
                while time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.05)
            else:  # in the thick of it: after a few more records, at a random instant
                want = before + rng.randint(1, 8)
                deadline = time.monotonic() + 180
                while count_records(results) < want and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.4))
            if proc.poll() is not None:
                continue  # it finished first
            workers = children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills_mid_run += 1
            # The pool's workers notice their parent is gone and exit instead of running on.
            deadline = time.monotonic() + 10
            while any(alive(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(alive(w) for w in workers), f"orphaned workers after kill {i}"
            by_alert(read_results(results))  # never a finished alert twice, even between runs
        finish([str(SLEUTH), "triage", "--alerts", "all", "--workers", "2", "--out", str(out), "--resume"], env,
               timeout=600)
    assert kills_mid_run >= 5
    records = by_alert(read_results(results))
    assert sorted(records) == all_alerts(home)
    assert all(r["status"] == "ok" for r in records.values())
    assert outcome(list(records.values())) == outcome(reference)


def test_unreachable_endpoint_fails_each_alert_and_resume_finishes(home: Settings, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An `openai:` endpoint nobody listens on: every alert is recorded as failed with the reason, the
    command exits 1 with a one-line summary, and `--resume` later finishes them, one record each."""
    from typer.testing import CliRunner

    from agent.cli import app

    ids = all_alerts(home)[:3]
    alerts = tmp_path / "alerts.txt"
    alerts.write_text("\n".join(ids) + "\n")
    out = tmp_path / "out"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: connection refused
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("SLEUTH_LLM_TIMEOUT_S", "5")
    base = ["triage", "--alerts", str(alerts), "--workers", "1", "--out", str(out), "--home", str(home.home)]
    runner = CliRunner()
    first = runner.invoke(app, [*base, "--model", "openai:gpt-4o-mini"])
    assert first.exit_code == 1, first.output
    assert "Traceback" not in first.output
    assert "3 alerts failed" in " ".join(first.output.split())
    failed = read_results(out / RESULTS)
    assert [r["status"] for r in failed] == ["failed"] * 3
    assert all("ModelCallFailed" in r["error"] for r in failed), failed[0]["error"]
    again = runner.invoke(app, [*base, "--model", "rules", "--resume"])
    assert again.exit_code == 0, again.output
    records = by_alert(read_results(out / RESULTS))
    assert sorted(records) == sorted(ids) and all(r["status"] == "ok" for r in records.values())


def test_batch_workers_share_the_cores_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.settings import for_workers, load_settings

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.delenv("SLEUTH_DB_THREADS", raising=False)
    monkeypatch.delenv("SLEUTH_GATHER_THREADS", raising=False)
    two = for_workers(load_settings(), 2)
    assert (two.db_threads, two.gather_threads) == (1, 2)
    assert for_workers(load_settings(), 8).gather_threads == 1
    monkeypatch.setenv("SLEUTH_DB_THREADS", "3")
    kept = for_workers(load_settings(gather_threads=4), 2)
    assert (kept.db_threads, kept.gather_threads) == (3, 4)
