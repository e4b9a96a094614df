"""Benchmarks of the agent: `bench agent` (one process, rules) and `bench triage` (the whole backlog).

Both run against a private copy of the workspace so the user's case store is untouched; the figures
are alerts per second after warm-up (the first case pays for imports and the embedding model).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.settings import Settings, for_workers, load_settings


def _private_home(settings: Settings, tmp: Path) -> Settings:
    """A copy of the workspace's database and playbook index, with an empty case store."""
    home = tmp / "home"
    home.mkdir()
    shutil.copy2(settings.db_path, home / settings.db_path.name)
    if settings.chroma_dir.exists():
        shutil.copytree(settings.chroma_dir, home / settings.chroma_dir.name)
    return load_settings(home=home)


def bench_agent(settings: Settings, n: int = 100, model: str = "rules") -> dict[str, Any]:
    """Investigate `n` alerts in one process; report alerts/s and per-node milliseconds."""
    from agent.runner import Investigator
    from tools.db import Database

    with Database.open(settings) as db:
        ids = [r[0] for r in db.execute("SELECT alert_id FROM alerts ORDER BY alert_id LIMIT ?", [n + 1]).rows]
    with tempfile.TemporaryDirectory() as tmp:
        private = for_workers(_private_home(settings, Path(tmp)), 1)
        with Investigator(private, model) as inv:
            start = time.perf_counter()
            inv.investigate(ids[0])
            warmup = time.perf_counter() - start
            nodes: dict[str, float] = {}
            start = time.perf_counter()
            for _, report in inv.investigate_many(ids[1:]):
                if isinstance(report, Exception):
                    raise report
                for k, v in report.timings_ms.items():
                    nodes[k] = nodes.get(k, 0.0) + v
            elapsed = time.perf_counter() - start
    count = len(ids) - 1
    return {"model": model, "alerts": count, "seconds": round(elapsed, 3), "alerts_per_s": round(count / elapsed, 2),
            "warmup_s": round(warmup, 2), "ms_per_node": {k: round(v / count, 2) for k, v in nodes.items()}}


def bench_triage(settings: Settings, workers: int = 2, model: str = "rules") -> dict[str, Any]:
    """Triage every alert of the workspace with `workers` processes; report alerts/s."""
    from agent.triage import run_triage

    with tempfile.TemporaryDirectory() as tmp:
        private = _private_home(settings, Path(tmp))
        start = time.perf_counter()
        result = run_triage(private, model, "all", Path(tmp) / "out", workers, resume=False, fresh=True)
        wall = time.perf_counter() - start
    records = result["records"]
    ok = sum(1 for r in records if r["status"] == "ok")
    return {"model": model, "workers": workers, "alerts": len(records), "ok": ok, "seconds": round(wall, 2),
            "alerts_per_s": round(len(records) / wall, 2),
            "alerts_per_s_steady": round(result["steady_per_s"] or 0.0, 2)}
