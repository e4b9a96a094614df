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
    """A copy of the workspace's database, playbook index and learned models, with an empty case store."""
    home = tmp / "home"
    home.mkdir()
    shutil.copy2(settings.db_path, home / settings.db_path.name)
    for folder in (settings.chroma_dir, settings.models_dir):
        if folder.exists():
            shutil.copytree(folder, home / folder.name)
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


#: How the graph's nodes add up to the stages `bench triage` reports (writes are the parent's commits).
STAGES = {"features": ("intake", "retrieve_playbooks", "gather_evidence", "batch_transactions", "batch_accounts",
                       "batch_retrieval", "batch_sql_steps", "batch_features"),
          "decisions": ("investigate", "assess"),
          "reports": ("draft_narrative", "verify", "revise", "recommend", "record")}


def _usage() -> tuple[float, float, float, float]:
    """(CPU s of this process, CPU s of its reaped children, peak MB of this process, of its largest child)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime, me.ru_maxrss / 1024, kids.ru_maxrss / 1024)


class TreeMemory:
    """The peak of the summed resident memory of this process and its children (the workers), read
    from /proc every 0.2 s on a thread: `ru_maxrss` gives only each process's own peak, and the
    bar is for the whole run. On a system without /proc it reads 0."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, tree_rss_mb())
            if self._stop.wait(0.2):
                return


def tree_rss_mb() -> float:
    """Resident MB of this process plus its direct children (a process that ends mid-read counts 0)."""
    import os

    me = os.getpid()
    total = 0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if int(entry.name) != me and ppid != me:
                continue
            total += next(int(line.split()[1]) for line in (entry / "status").read_text().splitlines()
                          if line.startswith("VmRSS:"))
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    return total / 1024


def stage_seconds(cases_dir: Path) -> dict[str, float]:
    """Seconds per stage summed over the case files' node timings (worker time, all workers)."""
    import json

    totals = dict.fromkeys(STAGES, 0.0)
    node_stage = {node: stage for stage, nodes in STAGES.items() for node in nodes}
    for path in cases_dir.glob("*.json"):
        for node, ms in json.loads(path.read_text(encoding="utf-8")).get("timings_ms", {}).items():
            if node in node_stage:
                totals[node_stage[node]] += ms / 1000
    return {k: round(v, 2) for k, v in totals.items()}


def bench_triage(settings: Settings, workers: int = 2, model: str = "rules", engine: str = "local",
                 alerts: int | None = None) -> dict[str, Any]:
    """Triage every alert of the workspace (or the first `alerts` by time) with `workers` processes, on
    a private copy of it; report alerts/s, CPU time, peak memory and where the time went."""
    import os

    from agent.triage import run_triage, select_alerts

    with tempfile.TemporaryDirectory() as tmp:
        private = _private_home(settings, Path(tmp))
        which = "all"
        if alerts is not None:
            which = str(Path(tmp) / "alerts.txt")
            Path(which).write_text("".join(f"{a}\n" for a, _ in select_alerts(private, "all")[:alerts]))
        cpu0, kids0, _, _ = _usage()
        start = time.perf_counter()
        with TreeMemory() as memory:
            result = run_triage(private, model, which, Path(tmp) / "out", workers, resume=False, fresh=True,
                                engine=engine)
        wall = time.perf_counter() - start
        cpu1, kids1, peak_parent, peak_child = _usage()
        stages = stage_seconds(private.cases_dir)
    records = result["records"]
    ok = sum(1 for r in records if r["status"] == "ok")
    stages["writes"] = round(result["write_s"], 2)
    return {"model": model, "workers": workers, "engine": engine, "alerts": len(records), "ok": ok,
            "seconds": round(wall, 2), "alerts_per_s": round(len(records) / wall, 2),
            "alerts_per_s_steady": round(result["steady_per_s"] or 0.0, 2),
            "cpu_s": {"parent": round(cpu1 - cpu0, 2), "workers": round(kids1 - kids0, 2)},
            "peak_mb": {"parent": round(peak_parent), "largest_worker": round(peak_child),
                        "all_processes": round(memory.peak_mb)},
            "stage_s": stages, "load_average_1m": round(os.getloadavg()[0], 1), "cores": os.cpu_count()}
