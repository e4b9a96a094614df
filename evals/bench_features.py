"""`sleuth bench features`: one `sleuth features build` of N alerts, timed, with its CPU and peak memory.

The build runs in a child process (`python -m evals.bench_features HOME N OUT`) so its peak resident
memory (`ru_maxrss`) is its own, not the parent's. Target (issue 14): 5,000 alerts on the
10-million-transaction workspace (`sleuth bench data --transactions 10000000 --out DIR`) in at most
60 s on 2 cores. Wall time grows with the machine's load, so the load average is reported beside it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.settings import Settings

TARGET_S = 60.0


def _child(home: str, n: str, out: str) -> dict[str, Any]:
    import duckdb

    from tools.features.build import build_features
    from tools.settings import load_settings

    settings = load_settings(home=Path(home))
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT alert_id FROM alerts ORDER BY alert_id LIMIT ?", [int(n)]).fetchall()]
        counts = dict(con.execute("SELECT 'transactions', count(*) FROM transactions UNION ALL "
                                  "SELECT 'flows', count(*) FROM flows").fetchall())
    finally:
        con.close()
    start, cpu0 = time.perf_counter(), _cpu_s()
    summary, _ = build_features(settings, ids, Path(out))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"alerts": summary.alerts, "features": summary.features, "seconds": time.perf_counter() - start,
            "statement_s": summary.seconds, "cpu_s": _cpu_s() - cpu0, "peak_mb": usage.ru_maxrss / 1024,
            "transactions": counts.get("transactions"), "flow_rows": counts.get("flows"),
            "parquet_mb": Path(out).stat().st_size / 2**20, "digest": summary.digest}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_features(settings: Settings, n_alerts: int = 5000) -> dict[str, Any]:
    """Build the features of the first `n_alerts` alerts (by id) of the workspace; the figures."""
    if not settings.db_path.exists():
        from tools.errors import WorkspaceMissing

        raise WorkspaceMissing(f"no workspace database at {settings.db_path}")
    with tempfile.TemporaryDirectory(prefix="sleuth-bench-features-") as tmp:
        out = Path(tmp) / "features.parquet"
        proc = subprocess.run([sys.executable, "-m", "evals.bench_features", str(settings.home), str(n_alerts),
                               str(out)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench features failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()},
            "workspace": str(settings.home), "target_s": TARGET_S, "meets_target": r["seconds"] <= TARGET_S,
            "load_average_1m": round(os.getloadavg()[0], 1), "cores": os.cpu_count()}


if __name__ == "__main__":
    print(json.dumps(_child(*sys.argv[1:4])))
