"""`sleuth bench tools`: latency of the investigation tools over random alerted accounts.

What an investigation costs in tool time: for `n_accounts` alerted accounts (a seeded, repeatable
pick), each tool runs once with the alert's creation time as `as_of`, after a short warm-up so the
figures are steady-state (file pages cached), not the first cold read. Reported per tool: p50, p95,
max and mean in milliseconds, and the target each is held to on a 10M-transaction workspace.
Also the process CPU time per call (all DuckDB threads included): on a shared, busy machine the
wall-clock figures mostly measure the wait for a core, and CPU time says what the tool itself costs.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from tools.db import Database
from tools.evidence import EvidenceLedger
from tools.settings import Settings

TARGET_P95_MS = {"profile": None, "counterparties": 50.0, "trace_3hop": 250.0, "exposure_3hop": 250.0}
PICK_SQL = """SELECT account_id, max(created_at) AS at FROM alerts GROUP BY account_id
ORDER BY hash(account_id || $seed) LIMIT $n"""


def _tools() -> dict[str, Callable[[Database, EvidenceLedger, str, dt.datetime], Any]]:
    from tools.graph.counterparties import counterparties
    from tools.graph.exposure import exposure
    from tools.graph.trace import trace

    out: dict[str, Callable[[Database, EvidenceLedger, str, dt.datetime], Any]] = {}
    try:
        profile = importlib.import_module("tools.profile").profile
    except (ImportError, AttributeError):
        profile = None
    if profile is not None:
        out["profile"] = lambda db, led, a, t: profile(db, led, a, as_of=t)
    out["counterparties"] = lambda db, led, a, t: counterparties(db, led, a, as_of=t)
    out["trace_3hop"] = lambda db, led, a, t: trace(db, led, a, direction="out", max_hops=3, as_of=t)
    out["exposure_3hop"] = lambda db, led, a, t: exposure(db, led, a, as_of=t, max_hops=3)
    return out


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def run(settings: Settings, n_accounts: int = 100, seed: str = "sleuth", warmup: int = 3) -> dict:
    """Time each tool over `n_accounts` alerted accounts; returns figures as a JSON-able dict."""
    tools = _tools()
    with Database.open(settings) as db:
        picks = db.execute(PICK_SQL, {"n": n_accounts + warmup, "seed": seed}).rows
        size = {t: db.scalar(f"SELECT count(*) FROM {t}") for t in ("transactions", "flows")}
        timings: dict[str, list[float]] = {name: [] for name in tools}
        cpu: dict[str, list[float]] = {name: [] for name in tools}
        for i, (account, at) in enumerate(picks):
            for name, fn in tools.items():
                ledger = EvidenceLedger()
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(db, ledger, account, at)
                if i >= warmup:
                    timings[name].append((time.perf_counter() - start) * 1000)
                    cpu[name].append((time.process_time() - start_cpu) * 1000)
    figures = {}
    for name, ms in timings.items():
        if not ms:
            continue
        target = TARGET_P95_MS.get(name)
        p95 = _pct(ms, 95)
        figures[name] = {"p50_ms": round(_pct(ms, 50), 2), "p95_ms": round(p95, 2), "max_ms": round(max(ms), 2),
                         "mean_ms": round(statistics.fmean(ms), 2), "cpu_p50_ms": round(_pct(cpu[name], 50), 2),
                         "cpu_p95_ms": round(_pct(cpu[name], 95), 2), "target_p95_ms": target,
                         "meets_target": None if target is None else p95 <= target}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"workspace": str(settings.db_path), "load_average_1m": load, "cpus": os.cpu_count(), "transactions": size["transactions"], "flow_rows": size["flows"],
            "accounts": max(0, len(picks) - warmup), "warmup": warmup, "tools": figures}
