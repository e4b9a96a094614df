"""`--engine ray`: the same records and case files as the local engine, and exactly once through kills
of the driver (kill -9) and of a Ray worker mid-run (slow). Skipped where Ray is not installed
(`pip install -e '.[ray]'`; `make test` installs it)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray")

from agent.report import comparable  # noqa: E402
from agent.triage import RESULTS, read_results, run_triage  # noqa: E402
from tests.kill_runs import finish, run_groups  # noqa: E402
from tools.settings import Settings  # noqa: E402

SLEUTH = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "sleuth"
SAME = ("alert_id", "status", "model", "rule_id", "disposition", "typology", "risk_score", "actions",
        "pending_approval", "claims_checked", "claims_unsupported", "tokens")


def outcome(records: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    ids = [r["alert_id"] for r in records]
    assert len(ids) == len(set(ids)), "an alert recorded twice"
    return {r["alert_id"]: tuple(json.dumps(r[k]) for k in SAME) for r in records}


def case_files(settings: Settings, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {a: comparable(json.loads((settings.cases_dir / f"{a}.json").read_text())) for a in ids}


@pytest.fixture(scope="module")
def home(agent_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    dest = tmp_path_factory.mktemp("ray") / "home"
    shutil.copytree(agent_settings.home, dest, ignore=shutil.ignore_patterns("cases", "audit.*", "triage"))
    return agent_settings.model_copy(update={"home": dest})


def alert_ids(settings: Settings, n: int | None = None) -> list[str]:
    from tools.db import Database

    with Database.open(settings) as db:
        ids = [a for (a,) in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id").rows]
    return ids[:n] if n else ids


def test_ray_engine_matches_local(home: Settings, tmp_path: Path) -> None:
    ids = alert_ids(home, 24)
    which = tmp_path / "ids.txt"
    which.write_text("\n".join(ids) + "\n")
    local = run_triage(home, "rules", str(which), tmp_path / "local", 1, resume=False, fresh=False)
    local_cases = case_files(home, ids)
    shutil.rmtree(home.cases_dir)
    on_ray = run_triage(home, "rules", str(which), tmp_path / "ray", 2, resume=False, fresh=False, engine="ray")
    assert outcome(on_ray["records"]) == outcome(local["records"])
    assert sorted(r["alert_id"] for r in on_ray["records"]) == ids
    assert case_files(home, ids) == local_cases


def ray_workers() -> list[int]:
    """Pids of this machine's Ray actor processes running a batch worker."""
    out = subprocess.run(["pgrep", "-f", "ray::BatchActor"], capture_output=True, text=True, check=False).stdout
    return [int(x) for x in out.split()]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ray_kill_9_driver_and_worker_then_resume(home: Settings, tmp_path: Path) -> None:
    """A Ray worker killed mid-run, then the driver killed with -9 at 10 random moments (resumed each
    time): exactly one record per alert, equal to an uninterrupted local run."""
    ids = alert_ids(home, 160)
    which = tmp_path / "ids.txt"
    which.write_text("\n".join(ids) + "\n")
    reference = run_triage(home, "rules", str(which), tmp_path / "ref", 2, resume=False, fresh=False)["records"]
    out = tmp_path / "out"
    env = {**os.environ, "SLEUTH_HOME": str(home.home), "SLEUTH_MODEL": "rules"}
    env.pop("RAY_ADDRESS", None)
    base = [str(SLEUTH), "triage", "--alerts", str(which), "--workers", "2", "--engine", "ray", "--out", str(out)]
    rng = random.Random(16)
    kills, killed_worker = 0, False
    with run_groups() as start:
        for i in range(10):
            proc = start(base + (["--resume"] if i else []), env)
            if i == 0:  # a worker dies after the first commit; Ray restarts it and its batch runs again
                deadline = time.monotonic() + 600
                while proc.poll() is None and time.monotonic() < deadline and not killed_worker:
                    if read_results(out / RESULTS) and ray_workers():
                        os.kill(ray_workers()[0], signal.SIGKILL)
                        killed_worker = True
                    time.sleep(0.05)
                want = len(ids) // 3
                while proc.poll() is None and time.monotonic() < deadline and len(read_results(out / RESULTS)) < want:
                    time.sleep(0.1)
            elif i % 2:  # during start-up (Ray's start, compaction, actors): a short time is early on any machine
                deadline = time.monotonic() + rng.uniform(0.5, 3.0)
                while time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.05)
            else:  # in the thick of it: after some fresh progress, at a random instant (at any machine's speed)
                want = len(read_results(out / RESULTS)) + rng.randint(1, 20)
                deadline = time.monotonic() + 300
                while proc.poll() is None and time.monotonic() < deadline and len(read_results(out / RESULTS)) < want:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.4))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
            outcome(read_results(out / RESULTS))  # never an alert twice, even between runs
        finish(base + ["--resume"], env, timeout=900)
    assert killed_worker and kills >= 5
    records = read_results(out / RESULTS)
    assert sorted(r["alert_id"] for r in records) == sorted(ids)
    assert outcome(records) == outcome(reference)
